"""Reading voucher QR codes from cameras, video streams, files and images."""
