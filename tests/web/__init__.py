# The header htmx sends with every request it makes, for the Django test client.
HTMX = {"HTTP_HX_REQUEST": "true"}
