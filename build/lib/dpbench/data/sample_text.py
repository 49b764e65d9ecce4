"""Words and templates of the offline sample: item metadata text and review text (see sample.py).

Everything here is a pure function of a `random.Random` and plain values, so the sample is the
same bytes on every machine. Per-category vocabularies give item titles, attribute phrases
(shared by an item's metadata and its reviews) and the aspects a user tends to write about.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Sentiment levels 0..4 (very negative .. very positive): generic adjectives peers share.
LEVEL_ADJS = (
    ("terrible", "awful", "dreadful", "painful", "a total mess"),
    ("weak", "disappointing", "flat", "dull", "forgettable"),
    ("okay", "uneven", "decent", "fine", "hit or miss"),
    ("good", "solid", "enjoyable", "pleasant", "well done"),
    ("outstanding", "brilliant", "superb", "wonderful", "fantastic"),
)
RECOMMEND = (
    ("Save your money.", "I would not recommend it to anyone.", "Avoid this one."),
    ("I can't really recommend it.", "Skip this one unless you are curious.", "Not one I would suggest."),
    ("Maybe wait for a sale.", "Your mileage may vary.", "Worth it only if you are a completist."),
    ("Worth a look.", "I would happily recommend it.", "Recommended."),
    ("Highly recommended.", "Do yourself a favor and get it.", "I would recommend it to anyone."),
)
STAR_WORDS = ("One", "Two", "Three", "Four", "Five")

# Per-user vocabulary pools: each user draws a few favourites from these.
INTENSIFIERS = (
    "really", "truly", "genuinely", "seriously", "incredibly", "remarkably", "downright", "utterly",
    "quite", "pretty", "super", "thoroughly", "properly", "totally", "wildly", "deeply",
)
FAV_POSITIVE = (
    "delightful", "stellar", "top-notch", "gorgeous", "riveting", "gripping", "lovely", "splendid",
    "nifty", "crisp", "breezy", "charming", "masterful", "sublime", "addictive", "heartfelt",
    "dazzling", "classy", "rock-solid", "magnificent", "refreshing", "spellbinding", "cozy", "slick",
)
FAV_NEGATIVE = (
    "bland", "tedious", "clunky", "meh", "sloppy", "lifeless", "shallow", "overblown", "dreary",
    "muddled", "cheesy", "grating", "plodding", "hollow", "lackluster", "tiresome",
)
# Signature phrases are LEAD + TAIL: 25 x 40 = 1,000 distinct sentences, each given to one user.
PHRASE_LEADS = (
    "Honestly,", "In my humble opinion,", "Mark my words,", "Long story short,", "Between you and me,",
    "Take it from me,", "For what it's worth,", "All things considered,", "Truth be told,",
    "Say what you will, but", "If you ask me,", "No joke,", "Hand on heart,", "Bottom line,",
    "As always,", "Just saying,", "Not gonna lie,", "Real talk,", "Believe me,", "Fair warning,",
    "In a nutshell,", "Make no mistake,", "Cards on the table,", "To be fair,", "When all is said and done,",
)
PHRASE_TAILS = (
    "this one stays on my shelf", "my tea went cold while I was at it", "I would do it all over again",
    "that is my two cents", "the dog seemed to agree", "it made my commute fly by",
    "I told my whole family about it", "I am still thinking about it", "it was a good use of a Sunday",
    "I will be watching for more", "it hit the spot in its own way", "my rating speaks for itself",
    "it is what it is", "I kept notes the whole way through", "it earned its place in my collection",
    "this goes straight into the gift pile", "my partner rolled their eyes at me",
    "I will say no more", "I know what I like", "the price was right", "I stayed up way too late",
    "I will revisit it someday", "the wait was part of the fun", "my grandmother would have approved",
    "I checked it off my list", "I am a tough crowd", "the cat slept through all of it",
    "I reached for the snacks early", "that is all she wrote", "so there you have it",
    "the neighbors heard all about it", "I marked the date on my calendar", "I will lend it to my brother",
    "my notebook is full of quotes now", "the rain made it even better", "I would not change a thing about my order",
    "I trust my gut on these", "this was my treat for the month", "I had low expectations going in",
    "my book club will hear about it",
)
PUNCT_HABITS = ("plain", "exclaim", "ellipsis", "lowercase", "smiley")
PUNCT_WEIGHTS = (35, 20, 15, 15, 15)
TITLE_HABITS = ("stars", "adjective", "kind", "item")
OCCASIONS = ("after seeing it mentioned online", "for a long flight", "on a friend's advice",
             "at a yard sale", "on a whim")


@dataclass(frozen=True)
class CategoryVocab:
    """What a category's items are called and what their reviews talk about."""

    main_category: str
    kinds: tuple[str, ...]
    consumed: str  # "read", "watched", "listened to"
    genres: tuple[str, ...]
    attributes: tuple[str, ...]  # noun phrases shared by metadata and reviews
    aspects: tuple[str, ...]  # 5 aspects; a user's focus aspect is an index into these
    title_words: tuple[str, ...]
    title_nouns: tuple[str, ...]
    store_kind: str  # "author", "studio", "artist"


VOCABS: dict[str, CategoryVocab] = {
    "Books": CategoryVocab(
        "Books", ("book", "novel", "story"), "read",
        ("Mystery", "Romance", "Science Fiction", "Fantasy", "Biography", "History", "Thriller",
         "Literary Fiction"),
        ("twisty plot", "slow-burn romance", "unreliable narrator", "small-town setting",
         "haunting atmosphere", "sharp dialogue", "epic world-building", "short chapters",
         "historical detail", "dark humor", "found family", "courtroom drama", "time travel",
         "coming-of-age arc", "spy intrigue", "lyrical prose", "family saga", "locked-room puzzle",
         "space battles", "magic system", "wartime backdrop", "detective duo", "heist subplot",
         "seaside village", "political scheming", "quiet grief", "road trip", "dual timeline"),
        ("characters", "plot", "writing", "pacing", "ending"),
        ("Silent", "Last", "Hidden", "Broken", "Golden", "Winter", "Lost", "Burning", "Paper", "Wild",
         "Secret", "Distant", "Crimson", "Quiet", "Iron"),
        ("Harbor", "Garden", "Crown", "River", "Letters", "Promise", "Orchard", "Signal", "Kingdom",
         "Witness", "Daughter", "Lighthouse", "Archive", "Storm", "Bridge"),
        "author"),
    "Movies_and_TV": CategoryVocab(
        "Movies & TV", ("movie", "film", "series"), "watched",
        ("Drama", "Comedy", "Action", "Horror", "Documentary", "Animation", "Sci-Fi", "Western"),
        ("stunning cinematography", "strong ensemble cast", "tight pacing", "memorable score",
         "practical effects", "witty script", "bonus features", "remastered picture", "car chases",
         "slow-burn tension", "period costumes", "nature footage", "director commentary",
         "animated sequences", "courtroom scenes", "desert landscapes", "jump scares", "love triangle",
         "heist sequence", "training montage", "plot twist", "deleted scenes", "dance numbers",
         "war scenes", "road movie structure", "space station set", "small-town cast", "archival interviews"),
        ("acting", "story", "visuals", "soundtrack", "pacing"),
        ("Midnight", "Final", "Red", "Endless", "Dark", "Summer", "Savage", "Electric", "Lonely",
         "Northern", "Golden", "Hollow", "Rogue", "Bright", "Twelfth"),
        ("Run", "Frontier", "Protocol", "Shadows", "Heist", "Season", "Horizon", "Outlaws", "Signal",
         "Empire", "Harvest", "Station", "Chase", "Island", "Reunion"),
        "studio"),
    "CDs_and_Vinyl": CategoryVocab(
        "CDs & Vinyl", ("album", "record", "CD"), "listened to",
        ("Rock", "Jazz", "Classical", "Country", "Pop", "Blues", "Folk", "Metal"),
        ("soaring vocals", "crisp production", "catchy hooks", "heavy guitar riffs", "lush strings",
         "live energy", "remastered sound", "deep bass", "acoustic arrangements", "bonus tracks",
         "horn section", "piano ballads", "extended solos", "tight rhythm section", "harmonica breaks",
         "orchestral swells", "falsetto chorus", "slide guitar", "drum grooves", "string quartet",
         "big band swing", "synth textures", "gospel choir", "storytelling lyrics", "duet tracks",
         "vinyl warmth", "liner notes", "double-time breakdowns"),
        ("vocals", "lyrics", "production", "melodies", "musicianship"),
        ("Velvet", "Electric", "Lonesome", "Blue", "Neon", "Golden", "Broken", "Highway", "Midnight",
         "Wild", "Silver", "Southern", "Distant", "Hollow", "Burning"),
        ("Hearts", "Sessions", "Radio", "Highway", "Echoes", "Roses", "Anthems", "Nights", "Ballads",
         "Tapes", "Skies", "Fever", "Grooves", "Dreams", "Avenue"),
        "artist"),
}
FIRST_NAMES = ("Ada", "Ben", "Clara", "Dev", "Elena", "Frank", "Grace", "Hiro", "Iris", "Jonas",
               "Kara", "Leo", "Maya", "Nico", "Olive", "Paul", "Quinn", "Rosa", "Sam", "Tess")
LAST_NAMES = ("Abbott", "Baker", "Castillo", "Dunn", "Ellis", "Fischer", "Grant", "Hale", "Ivers",
              "Jensen", "Kerr", "Lowe", "Moreno", "Nash", "Owens", "Pike", "Reyes", "Stone", "Vance", "Wolfe")


def make_item_title(rng: random.Random, vocab: CategoryVocab) -> str:
    """A title like 'The Silent Harbor' (books), 'Midnight Run [Blu-ray]' or 'Velvet Hearts'."""
    base = f"{rng.choice(vocab.title_words)} {rng.choice(vocab.title_nouns)}"
    if vocab.store_kind == "author":
        return rng.choice(("The ", "", "A ")) + base + rng.choice(("", "", ": A Novel"))
    if vocab.store_kind == "studio":
        return base + rng.choice((" [DVD]", " [Blu-ray]", "", " (Special Edition)"))
    return base + rng.choice(("", "", " (Remastered)", " [Vinyl]"))


def make_store(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def make_details(rng: random.Random, vocab: CategoryVocab) -> dict[str, str]:
    """Category-specific 'details' as the 2023 meta files hold them (string values)."""
    year = str(rng.randrange(1965, 2023))
    if vocab.store_kind == "author":
        return {"Publisher": f"{rng.choice(LAST_NAMES)} Press", "Language": "English",
                rng.choice(("Paperback", "Hardcover")): f"{rng.randrange(180, 720)} pages",
                "Publication date": year}
    if vocab.store_kind == "studio":
        return {"Media Format": rng.choice(("DVD", "Blu-ray", "Multi-Format")),
                "Run time": rng.choice(("1 hour", "2 hours")) + f" and {rng.randrange(2, 60)} minutes",
                "Release date": year, "Language": "English"}
    return {"Label": f"{rng.choice(LAST_NAMES)} Records", "Number of discs": str(rng.choice((1, 1, 1, 2))),
            "Number of tracks": str(rng.randrange(8, 21)), "Original Release Date": year}


def make_description(rng: random.Random, vocab: CategoryVocab, title: str, genre: str,
                     attrs: tuple[str, ...], min_chars: int) -> list[str]:
    """Marketing copy that repeats the item's attributes; grown to at least `min_chars`."""
    kind = vocab.kinds[0]
    pool = [
        f"{title} is a {genre.lower()} {kind} built around its {attrs[0]}.",
        f"Critics praised the {attrs[1]} and the {attrs[2]}.",
        f"Fans of {genre.lower()} will appreciate the {attrs[0]} and the {attrs[2]}.",
        f"This edition includes a new introduction and a note on the {attrs[1]}.",
        f"Few recent releases match its {attrs[2]}.",
        f"From the opening moments, the {attrs[1]} sets the tone.",
        f"A {rng.choice(('bestselling', 'beloved', 'acclaimed', 'cult'))} {kind} that rewards repeat visits.",
        f"With its {attrs[0]}, it has found a loyal audience of {genre.lower()} lovers.",
    ]
    out: list[str] = []
    total = 0
    while total < min_chars:
        sentence = rng.choice(pool)
        out.append(sentence)
        total += len(sentence) + 1
    # Real descriptions are lists of paragraphs: group sentences 3 at a time.
    return [" ".join(out[i:i + 3]) for i in range(0, len(out), 3)]


@dataclass(frozen=True)
class UserStyle:
    """A user's stable writing habits: what history- and peer-aware methods can learn."""

    phrases: tuple[str, ...]  # 2-3 signature sentences: opener, closer, optional mid-text
    punct: str  # one of PUNCT_HABITS
    length_words: int  # typical review length in words
    tone_offset: float  # words are this many levels warmer (+) or colder (-) than the rating
    intensifiers: tuple[str, ...]
    fav_positive: tuple[str, ...]
    fav_negative: tuple[str, ...]
    focus_aspect: int  # index into CategoryVocab.aspects
    title_habit: str


def make_style(rng: random.Random, phrase_pool: list[tuple[str, str]]) -> UserStyle:
    """Draw one user's habits; signature phrases are popped so no two users share one."""
    phrases: list[tuple[str, str]] = []
    for _ in range(rng.choice((2, 3))):
        # Distinct leads and tails within a user, so its phrases never echo each other.
        pick = next((i for i in range(len(phrase_pool) - 1, -1, -1)
                     if all(phrase_pool[i][0] != a and phrase_pool[i][1] != b for a, b in phrases)), None)
        if pick is not None:
            phrases.append(phrase_pool.pop(pick))
    length = int(min(170, max(24, rng.lognormvariate(4.0, 0.35))))
    return UserStyle(
        phrases=tuple(f"{lead} {tail}." for lead, tail in phrases),
        punct=rng.choices(PUNCT_HABITS, PUNCT_WEIGHTS)[0],
        length_words=length,
        tone_offset=max(-1.6, min(1.6, rng.gauss(0.0, 0.7))),
        intensifiers=tuple(rng.sample(INTENSIFIERS, 2)),
        fav_positive=tuple(rng.sample(FAV_POSITIVE, 2)),
        fav_negative=tuple(rng.sample(FAV_NEGATIVE, 2)),
        focus_aspect=rng.randrange(5),
        title_habit=rng.choice(TITLE_HABITS),
    )


def make_phrase_pool(rng: random.Random) -> list[tuple[str, str]]:
    pool = [(lead, tail) for lead in PHRASE_LEADS for tail in PHRASE_TAILS]
    rng.shuffle(pool)
    return pool


def _adjective(rng: random.Random, style: UserStyle, level: int) -> str:
    # Favourite words replace generic ones most of the time: a per-user vocabulary signal.
    if level >= 3 and rng.random() < 0.6:
        return rng.choice(style.fav_positive)
    if level <= 1 and rng.random() < 0.6:
        return rng.choice(style.fav_negative)
    return rng.choice(LEVEL_ADJS[level])


def _be(noun: str, past: bool = False) -> str:
    plural = noun.endswith("s") and not noun.endswith(("ss", "us"))
    return ("were" if plural else "was") if past else ("are" if plural else "is")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _intens(rng: random.Random, style: UserStyle) -> str:
    return rng.choice(style.intensifiers) + " " if rng.random() < 0.7 else ""


@dataclass(frozen=True)
class ItemText:
    """What a review may mention about its item (all of it is in the item's metadata)."""

    title: str
    genre: str
    attrs: tuple[str, ...]
    details: dict[str, str]


def _body_sentences(rng: random.Random, style: UserStyle, vocab: CategoryVocab, item: ItemText,
                    level: int) -> list[str]:
    """Candidate body sentences in the order they are used: focus, attribute, recommendation, extras."""
    kind = rng.choice(vocab.kinds)
    aspect = vocab.aspects[style.focus_aspect]
    other = vocab.aspects[(style.focus_aspect + rng.randrange(1, 5)) % 5]
    attr, attr2 = rng.sample(item.attrs, 2)
    adj = lambda: _adjective(rng, style, level)  # a fresh draw per use
    focus = rng.choice((
        f"The {aspect} {_be(aspect, rng.random() < 0.5)} {_intens(rng, style)}{adj()}.",
        f"As usual I paid most attention to the {aspect}, which {_be(aspect, True)} {_intens(rng, style)}{adj()}.",
        f"For me it all comes down to the {aspect}, and this time the verdict is {adj()}.",
        f"I keep coming back to the {aspect}: {adj()}, {_intens(rng, style)}{adj()}.",
    ))
    attribute = rng.choice((
        f"The {attr} {_be(attr)} {_intens(rng, style)}{adj()}.",
        f"I thought the {attr} {_be(attr, True)} {adj()}.",
        f"What stood out to me was the {attr}, which felt {_intens(rng, style)}{adj()}.",
        f"I found the {attr} {adj()}.",
    ))
    extras = [
        f"The {attr2} {_be(attr2, True)} {adj()} too.",
        f"As a longtime fan of {item.genre.lower()}, I {'liked' if level >= 3 else 'expected more from'} this {kind}.",
        f"I {vocab.consumed} it over {rng.choice(('a long weekend', 'two evenings', 'a few weeks', 'one sitting', 'a rainy week'))}.",
        f"I picked it up {rng.choice(OCCASIONS)}.",
        f"The {other} {_be(other, True)} {rng.choice(LEVEL_ADJS[max(0, min(4, level + rng.choice((-1, 0, 1))))])}.",
        f"Compared to other {item.genre.lower()} {vocab.kinds[0]}s I have {vocab.consumed}, this {kind} is {adj()}.",
        _detail_sentence(rng, vocab, item),
        f"The {aspect} again stood out, {_intens(rng, style)}{adj()} from start to finish.",
    ]
    rng.shuffle(extras)
    return [focus, attribute, rng.choice(RECOMMEND[level])] + extras


def _detail_sentence(rng: random.Random, vocab: CategoryVocab, item: ItemText) -> str:
    d = item.details
    if vocab.store_kind == "author":
        pages = d.get("Paperback") or d.get("Hardcover") or "300 pages"
        return f"At {pages} it {rng.choice(('moves quickly', 'takes its time', 'never drags'))}."
    if vocab.store_kind == "studio":
        return f"It runs {d.get('Run time', 'about two hours')}, which {rng.choice(('felt right', 'felt long', 'flew by'))}."
    return f"There are {d.get('Number of tracks', '12')} tracks and {rng.choice(('no filler', 'a couple of skips', 'a strong closer'))}."


def _template_key(sentence: str) -> str:
    return " ".join(sentence.split()[:3])


def _apply_punct(rng: random.Random, habit: str, sentences: list[str]) -> str:
    if habit == "exclaim":
        sentences = [s[:-1] + "!!" if s.endswith(".") and rng.random() < 0.6 else s for s in sentences]
    elif habit == "ellipsis":
        sentences = [s[:-1] + "..." if s.endswith(".") and rng.random() < 0.5 else s for s in sentences]
    elif habit == "smiley":
        sentences = [s + " :)" if rng.random() < 0.35 else s for s in sentences]
    text = " ".join(sentences)
    return text.lower() if habit == "lowercase" else text


def compose_review(rng: random.Random, style: UserStyle, vocab: CategoryVocab, item: ItemText,
                   rating: int) -> tuple[str, str]:
    """(review title, review text) in the user's habits, about this item, at this rating."""
    tone = rating + style.tone_offset + rng.gauss(0.0, 0.35)
    level = max(0, min(4, round(tone) - 1))
    target = max(18, round(style.length_words * rng.lognormvariate(0.0, 0.15)))
    body = _body_sentences(rng, style, vocab, item, level)
    opener = [style.phrases[0]] if rng.random() < 0.85 else []
    closer = [style.phrases[1]] if rng.random() < 0.8 else []
    mid = [style.phrases[2]] if len(style.phrases) > 2 and rng.random() < 0.7 else []
    chosen: list[str] = []
    words = sum(len(s.split()) for s in opener + closer + mid)
    for i, sentence in enumerate(body):
        if i >= 2 and words >= target:
            break
        chosen.append(sentence)
        words += len(sentence.split())
    used = {_template_key(s) for s in chosen}
    tries = 0
    while words < target:  # long writers add more extras, rarely the same template twice
        extra = _body_sentences(rng, style, vocab, item, level)[rng.randrange(3, 11)]
        tries += 1
        if _template_key(extra) in used and tries < 30:
            continue
        used.add(_template_key(extra))
        chosen.append(extra)
        words += len(extra.split())
    if mid:
        chosen.insert(rng.randrange(1, len(chosen) + 1), mid[0])
    text = _apply_punct(rng, style.punct, opener + chosen + closer)
    return compose_title(rng, style, vocab, item, rating, level), text


def compose_title(rng: random.Random, style: UserStyle, vocab: CategoryVocab, item: ItemText,
                  rating: int, level: int) -> str:
    adj = _adjective(rng, style, level)
    if style.title_habit == "stars":
        title = f"{STAR_WORDS[rating - 1]} Stars"
    elif style.title_habit == "adjective":
        title = f"{adj[0].upper()}{adj[1:]}!"
    elif style.title_habit == "kind":
        title = f"{_article(adj).capitalize()} {adj} {vocab.kinds[0]}"
    else:
        title = f"{item.title.split(' [')[0].split(' (')[0]}: {adj}"
    return title.lower() if style.punct == "lowercase" else title
