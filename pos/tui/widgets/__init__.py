"""Widgets shared by the screens: the status line, the verdict panel, the camera scanner, the lists' table."""
