"""The raw baseline for bench/tracked_links.py: a Flask app whose only route is a 302, nothing behind it."""

from flask import Flask, redirect

app = Flask(__name__)


@app.get("/l/<code>")
def follow(code: str):
    return redirect("https://grace.example.org/easter?from=sms", 302)
