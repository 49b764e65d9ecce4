"""Prediction/reference pairs for parity tests: reviews-like text, punctuation, case, empty strings."""

TOY_REF = "The blender is powerful and easy to clean, but it is quite loud."
TOY_HYP = "This blender is very powerful and simple to clean, though a bit noisy."

# (prediction, reference); single sentences so NLTK's word_tokenize needs no punkt model
PAIRS = [
    (TOY_HYP, TOY_REF),
    ("I loved this book and read it in one night", "I loved the book; I read it in a single night!"),
    ("Great sound quality, terrible packaging.", "The packaging was terrible but the sound quality is great"),
    ("", "A reference with no prediction at all"),
    ("A prediction without overlap whatsoever", "Completely different words here"),
    ("The movie was running long and the actors were running out of ideas",
     "Running time is long; the actors ran out of steam"),
    ("Five stars!!! Would buy again :)", "five stars, would buy again"),
    ("It's the best CD I've ever owned, hands down.", "Best CD I have ever owned, hands down"),
    ("Not worth $20 — the batteries died after 2 days", "Batteries died after two days, not worth the $20"),
    ("the the the the", "the cat sat on the mat"),
    ("Café au lait flavor, naïve but charming story", "A naive but charming story with a cafe flavor"),
    ("Short.", "A much longer reference review that goes on for quite a while about many things"),
]
