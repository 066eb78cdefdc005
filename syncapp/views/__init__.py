"""The web pages and the JSON API, one module per area; urls in mailsync/urls.py."""
