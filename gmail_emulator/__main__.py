"""`python -m gmail_emulator --port P --messages N --seed S`: serve until SIGINT or SIGTERM."""

from .cli import main

main()
