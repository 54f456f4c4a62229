"""One module per place in the UI: login, counter, and the manager's back-office screens."""
