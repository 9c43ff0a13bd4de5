"""The floor app for bench/bench_app.py; the page is in bench/floor_page.py."""

from floor_page import run

run()
