#!/usr/bin/env python3
"""chatter.py - an independent generator of memory-recall test sets for Veri.

What it generates
-----------------
JSON Lines in the format of ``shared/eval/README.md``: per *subject* (one imaginary person), a
stream of ``event`` records (chat turns, ids ``S<session>:<turn>``) followed by ``query`` records
(questions with the ids of the turns that answer them, a category and a short answer).

Every subject has a small hidden world: a partner, friends (and where they were met), a sibling
and a parent, a job, tastes and dislikes, often a pet, plans (that get moved), purchases (whose
price gets haggled), money lent, health trouble, trips, favourite eateries, and sometimes a side
business dealing with companies (paid collabs, bills, parcels).  The world is told through 4-7
chat sessions spread over months, each with 2-4 participants and plenty of small talk that
carries no facts.  Facts are said once, some change later ("now" questions expect the later turn,
"at first" questions the earlier one), some are referred to indirectly ("that spot from gig
night").  Each speaker gets a random writing style (lowercase, emoji, "tmrw"/"ngl"-style
shorthand, swapped-letter typos, run-ons, terse replies).

Questions come in four categories: 1 multi-hop (the answer needs 2+ turns), 2 temporal (dates,
"now" vs "at first", "the week after ..."), 3 inference (why / would X enjoy Y), 4 single-hop.
Questions are paraphrased: question wording is drawn from a synonym table so that it never
repeats a *rare* content word (document frequency <= RARE_DF among the subject's turns, after a
light stemming) of the turns it expects, names excepted.  Candidates that fail that check are
discarded, so the answer is findable but not by copying words.

Why it is independent
---------------------
It was written from a blank page, from the public format description alone: it shares no code,
templates, names or vocabulary with Veri's own simulator or pipeline, so a score on its output
says something about retrieval of unseen conversational text rather than about a generator the
engine was tuned against.  Standard library only; output depends only on ``--seed``.

Usage::

    python bench/evalsets/chatter.py --seed 1 --subjects 12 --out bench/evalsets/chatter-seed1.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

FEMALE = [
    "Leah",
    "Nadia",
    "Priya",
    "Sofia",
    "Amara",
    "Hana",
    "Ines",
    "Mei",
    "Zara",
    "Chloe",
    "Freya",
    "Yasmin",
    "Tove",
    "Ruth",
    "Keiko",
    "Lucia",
    "Maren",
    "Ada",
    "Bea",
    "Ottilie",
    "Noor",
    "Selin",
    "Ifeoma",
    "Greta",
    "Rosa",
    "Dalia",
    "Mira",
    "Elif",
    "Kezia",
    "Lotte",
    "Paloma",
    "Sunita",
    "Imogen",
    "Tamsin",
    "Vera",
    "Ayla",
    "Carys",
    "Juno",
    "Petra",
    "Habiba",
]
MALE = [
    "Omar",
    "Tomas",
    "Kwame",
    "Ravi",
    "Felix",
    "Jonah",
    "Mateo",
    "Idris",
    "Hugo",
    "Luca",
    "Soren",
    "Dev",
    "Kofi",
    "Ezra",
    "Bastian",
    "Callum",
    "Rohan",
    "Niko",
    "Arlo",
    "Theo",
    "Yusuf",
    "Benji",
    "Anton",
    "Marek",
    "Diego",
    "Finn",
    "Ishaan",
    "Caleb",
    "Jasper",
    "Emeka",
    "Lars",
    "Milo",
    "Rafa",
    "Tariq",
    "Cormac",
    "Duncan",
    "Pavel",
    "Sami",
    "Wilbur",
    "Oskar",
]
NEUTRAL = ["Alex", "Robin", "Charlie", "Jules", "Kit", "Rowan", "Sasha", "Remy", "Ash", "Quinn"]

CITIES = [
    "Porto",
    "Lisbon",
    "Valencia",
    "Tbilisi",
    "Krakow",
    "Ghent",
    "Bergen",
    "Marseille",
    "Naples",
    "Leeds",
    "Glasgow",
    "Cork",
    "Bristol",
    "Montreal",
    "Oaxaca",
    "Hanoi",
    "Osaka",
    "Seoul",
    "Nairobi",
    "Accra",
    "Reykjavik",
    "Tallinn",
    "Riga",
    "Seville",
    "Bologna",
    "Lyon",
    "Rotterdam",
    "Aarhus",
    "Vilnius",
    "Dubrovnik",
    "Thessaloniki",
    "Izmir",
    "Marrakech",
    "Halifax",
    "Hobart",
    "Wellington",
    "Vancouver",
    "Austin",
    "Denver",
    "Edinburgh",
    "Belfast",
    "Copenhagen",
    "Zagreb",
    "Trieste",
    "Bilbao",
    "Salzburg",
    "Gothenburg",
    "Bordeaux",
    "Palermo",
    "Ljubljana",
]
STREETS = [
    "Elm Road",
    "Canal Street",
    "Mill Lane",
    "Harbour Row",
    "Station Parade",
    "Kings Walk",
    "Foundry Street",
    "Orchard Way",
    "Market Hill",
    "Ropewalk",
]
BAND_A = ["Velvet", "Paper", "Neon", "Quiet", "Hollow", "Golden", "Lunar", "Wild", "Tin", "Coral", "Amber", "Silver"]
BAND_B = [
    "Lanterns",
    "Moths",
    "Harbours",
    "Satellites",
    "Foxes",
    "Tides",
    "Echoes",
    "Pilots",
    "Orchards",
    "Ghosts",
    "Kites",
    "Swallows",
]
EATERIES = [
    "Nonna Pia's",
    "Casa Lumo",
    "The Hungry Heron",
    "Bao Down",
    "Saffron Lane",
    "Little Ox",
    "Mezze Club",
    "Taqueria Sol",
    "Pho Real",
    "The Crooked Spoon",
    "Dumpling Dynasty",
    "Ramen Ya",
    "Tandoor Nights",
    "Pierogi Place",
    "The Salted Fig",
    "Burrito Brothers",
    "Kimchi Corner",
    "Olive and Ash",
    "The Greedy Goose",
    "Sabai Sabai",
]
DISHES = [
    "the lamb ragu",
    "truffle gnocchi",
    "birria tacos",
    "pork belly bao",
    "a katsu curry",
    "spicy miso ramen",
    "a lobster roll",
    "the aubergine parmigiana",
    "smoked brisket",
    "dan dan noodles",
    "a mushroom risotto",
    "jerk chicken",
]
COMPANY_A = [
    "Fern",
    "Kettle",
    "Copper",
    "Pebble",
    "Lumen",
    "Nimbus",
    "Quill",
    "Harbor",
    "Bramble",
    "Cobalt",
    "Willow",
    "Juniper",
    "Orbit",
    "Maple",
    "Ember",
    "Sparrow",
    "Granite",
    "Tidal",
]
COMPANY_B = ["wick", "loop", "works", "craft", "hive", "nest", "box", "line", "yard", "forge"]
COURIERS = ["Swiftcrate", "Bluebox Freight", "Packetline", "Roadrunner Couriers", "Parcelhop", "Northstar Express"]
PET_NAMES = [
    "Biscuit",
    "Pickle",
    "Mochi",
    "Waffles",
    "Pepper",
    "Turnip",
    "Noodle",
    "Clementine",
    "Otis",
    "Fig",
    "Dumpling",
    "Ziggy",
    "Pesto",
    "Marmalade",
    "Kipper",
    "Olive",
    "Bean",
    "Socks",
    "Nacho",
    "Crumpet",
]
SHOWS = [
    "The Long Shore",
    "Copper Ridge",
    "Night Kitchen",
    "Salt and Signal",
    "Half Moon Motel",
    "Glasshouse",
    "The Understudies",
    "Paper Crowns",
    "Deep Field",
    "Low Tide",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Synonym table: every key is one concept, every entry a way to say it.  Statements pick one form,
# questions pick a form that shares no rare word with the turns being asked about.
SYN: dict[str, list[str]] = {
    # where friends were met
    "climbing": ["the climbing gym", "the bouldering wall", "the indoor rock place", "the crag centre"],
    "pottery": ["pottery class", "the ceramics course", "wheel-throwing lessons", "the clay studio evenings"],
    "choir": ["choir", "the community singing group", "the vocal ensemble", "chorus practice"],
    "dogpark": [
        "the dog park",
        "the off-lead field by the river",
        "morning walkies on the common",
        "the spot where everyone exercises their pups",
    ],
    "halls": ["uni halls", "first-year student housing", "the dorms", "freshers' accommodation"],
    "bookclub": ["book club", "the monthly reading circle", "the novel discussion group", "that literature meetup"],
    "salsa": ["salsa class", "the Latin dance lessons", "the Thursday dance school", "the bachata course"],
    "football": ["five-a-side", "the Sunday kickabout", "the amateur soccer league", "pickup football"],
    "cowork": ["the coworking space", "the shared office", "the hot-desk place", "that freelancer hub"],
    "foodbank": ["the food bank", "volunteering at the pantry", "charity kitchen shifts", "the soup kitchen rota"],
    "swim": ["the lido", "open-water swim club", "the outdoor pool", "the early-morning bathers' group"],
    "improv": ["improv class", "the comedy workshop", "that drama night course", "the sketch troupe"],
    # generic concepts
    "trip": ["trip", "getaway", "holiday", "break", "weekend away", "visit"],
    "friend": ["friend", "pal", "mate", "buddy"],
    "gig": ["gig", "concert", "live show", "performance"],
    "eatery": ["restaurant", "place", "spot", "eatery", "joint"],
    "boss": ["boss", "manager", "line manager", "supervisor", "team lead"],
    "bill": ["invoice", "bill", "payment request"],
    "parcel": ["parcel", "package", "box", "shipment", "delivery"],
    "company": ["company", "brand", "firm", "business"],
    "courier": ["courier", "delivery firm", "shipping company", "carrier"],
    "price": ["price", "amount", "sum", "figure"],
    "buy": ["buy", "purchase", "get", "pick up"],
    "gift": ["gift", "present", "birthday surprise"],
    "mum": ["mother", "mum", "mom"],
    "dad": ["father", "dad"],
    "sister": ["sister", "sis", "older sibling", "younger sibling"],
    "brother": ["brother", "bro", "older sibling", "younger sibling"],
    "sibling": ["sibling", "sib", "closest relative"],
    "surgery": ["operation", "procedure", "surgery", "treatment"],
    "wedding": ["wedding", "ceremony", "nuptials", "big day"],
    "job_title": ["job title", "position", "role"],
    "rent": ["rent", "housing cost", "monthly payment for the flat", "what the landlord charges"],
    # items haggled over
    "scooter": ["a used Vespa", "a secondhand scooter", "the moped", "a little two-wheeler"],
    "sideboard": ["a mid-century sideboard", "a vintage cabinet", "a retro storage unit", "the teak dresser"],
    "bike": ["a road bike", "a racing bicycle", "the carbon frame", "a lightweight racer"],
    "piano": ["an upright piano", "the old joanna", "a musical instrument with keys", "the ivories"],
    "campervan": ["a campervan", "an old VW camper", "the motorhome", "a van to live in"],
    "sofa": ["a velvet sofa", "the couch", "a three-seater settee", "new seating for the lounge"],
    "espresso": ["an espresso machine", "the coffee maker", "a barista-style machine", "a caffeine contraption"],
    "telescope": ["a telescope", "the stargazing scope", "an astronomy kit"],
    "camera": ["a film camera", "an old Pentax", "the analogue camera", "a vintage photo gadget"],
    "guitar": ["an acoustic guitar", "a six-string", "the Martin copy", "a stringed instrument"],
    # pets
    "pet_dog": ["dog", "pooch", "canine", "four-legged friend"],
    "pet_cat": ["cat", "feline", "moggy"],
    "pet_rabbit": ["rabbit", "bunny", "long-eared pet"],
    "pet_bird": ["bird", "feathered pet", "little flyer"],
    "pet_tortoise": ["tortoise", "reptile", "shelled pet"],
    # business deliverables and goods
    "reels": ["reels", "short vertical clips", "quick videos", "short-form pieces"],
    "stories": ["stories", "story frames", "24-hour posts", "disappearing posts"],
    "video": ["dedicated videos", "long-form pieces", "full-length uploads", "sponsored episodes"],
    "posts": ["feed posts", "grid posts", "photo posts", "static posts"],
    "knives": ["chef's knives", "a knife set", "kitchen blades"],
    "skillets": ["cast-iron skillets", "frying pans", "heavy pans"],
    "lights": ["bike lights", "LED lamps for the handlebars", "front and rear lights"],
    "bags": ["saddle bags", "frame bags", "bikepacking luggage"],
    "serums": ["serums", "face oils", "skincare bottles"],
    "masks": ["sheet masks", "face masks", "skincare masks"],
    "headsets": ["headsets", "gaming headphones", "cans with a mic"],
    "keyboards": ["mechanical keyboards", "clicky keyboards", "typing decks"],
    "yarn": ["yarn bundles", "wool skeins", "knitting wool"],
    "needles": ["bamboo needles", "knitting pins", "circular needles"],
    "tents": ["tents", "shelters", "two-person tents"],
    "filters": ["water filters", "purifier bottles", "filtration gear"],
}

MEET_PLACES = [
    "climbing",
    "pottery",
    "choir",
    "dogpark",
    "halls",
    "bookclub",
    "salsa",
    "football",
    "cowork",
    "foodbank",
    "swim",
    "improv",
]
HAGGLE_ITEMS = [
    "scooter",
    "sideboard",
    "bike",
    "piano",
    "campervan",
    "sofa",
    "espresso",
    "telescope",
    "camera",
    "guitar",
]

PETS: list[tuple[str, list[str]]] = [
    (
        "pet_dog",
        ["a rescue greyhound", "a scruffy terrier cross", "a lurcher from the rescue centre", "a collie puppy"],
    ),
    ("pet_cat", ["a tabby kitten", "a one-eyed rescue tom", "a ginger kitten", "a black kitten"]),
    ("pet_rabbit", ["a lop-eared bun", "a dwarf lop"]),
    ("pet_bird", ["a budgie", "an African grey parrot", "a cockatiel"]),
    ("pet_tortoise", ["a Hermann's tortoise", "a tiny tortoise called a Horsfield"]),
]
VET_ISSUES = [
    ("swallowed a hair tie and needed it removed", "swallowed a hair tie"),
    ("has an ear infection, drops twice a day", "an ear infection"),
    ("needed two teeth out", "two teeth had to come out"),
    ("has a skin allergy, it's itchy all over", "a skin allergy"),
    ("has a dodgy stomach from eating something off the pavement", "an upset stomach"),
    ("has a sprained leg from jumping off the sofa", "a sprained leg"),
]

DATE_BUYS = [
    "a fountain pen",
    "new running shoes",
    "a standing desk",
    "a record player",
    "a cast-iron pot",
    "noise-cancelling headphones",
    "a giant monstera",
    "a kayak paddle",
    "a sewing machine",
    "an e-reader",
    "a rowing machine",
    "hiking boots",
    "a sourdough starter kit",
    "a vintage denim jacket",
    "a bread maker",
    "a drone",
]
TRIP_FOODS = [
    "pastéis de nata",
    "dumplings",
    "tapas",
    "street tacos",
    "waffles",
    "pierogi",
    "khachapuri",
    "gelato",
    "bao buns",
    "churros",
    "oysters",
    "pho",
]
ROLES = [
    "junior data analyst",
    "sous chef",
    "UX designer",
    "project coordinator",
    "lab technician",
    "sound engineer",
    "copywriter",
    "logistics planner",
    "physio assistant",
    "museum curator",
]
TITLES = [
    "senior designer",
    "team lead",
    "head of operations",
    "principal engineer",
    "account director",
    "deputy manager",
    "shift supervisor",
]
PARTNER_JOBS: list[tuple[str, str, str]] = [  # (third person, first person, short answer)
    (
        "teaches chemistry at the secondary school down the road",
        "teach chemistry at the secondary school down the road",
        "a chemistry teacher",
    ),
    (
        "is a nurse on the night shifts at the children's hospital",
        "am on night shifts at the children's hospital again, nursing is brutal",
        "a night-shift nurse",
    ),
    (
        "runs the tiny bike repair shop by the station",
        "run the tiny bike repair shop by the station",
        "runs a bike repair shop",
    ),
    (
        "does the sound for touring theatre shows",
        "do the sound for touring theatre shows",
        "a theatre sound technician",
    ),
    (
        "is an architect, mostly school buildings",
        "design school buildings, architecture pays the bills",
        "an architect",
    ),
    ("fixes boilers for a living, very glamorous", "fix boilers for a living, very glamorous", "a heating engineer"),
    ("works as a paramedic, the shifts are wild", "work on the ambulances, paramedic life", "a paramedic"),
    ("is a tattoo artist, booked out months ahead", "tattoo people, booked out months ahead", "a tattoo artist"),
]
GIFTS = [
    "a pottery class voucher",
    "tickets to see a comedian",
    "a weighted blanket",
    "a vintage watch",
    "a hot air balloon ride",
    "a signed first edition",
    "a personalised star map",
    "a cooking course",
]
OPERATIONS = [
    ("having her hip done", "a hip replacement", "mum"),
    ("having his knee operated on", "knee surgery", "dad"),
    ("getting her cataracts fixed", "cataract surgery", "mum"),
    ("having his gallbladder out", "gallbladder removal", "dad"),
]

# Things a person may love or loathe, with questions that need the reader to infer.
# (statement lines, question templates, answer)
PREFERENCES: list[tuple[list[str], list[str], str]] = [
    (
        [
            "nothing beats being up on a ridge with a flask of tea tbh",
            "I'd live in the hills if I could, every weekend I'm out on the fells",
        ],
        ["Would {n} likely enjoy a mountain trek?", "Is a long hike something {n} would be up for?"],
        "Yes, {n} loves being out in the hills.",
    ),
    (
        [
            "I turn green on anything that floats, even the ferry wrecked me",
            "boats and me do not mix, I was sick the whole crossing last time",
        ],
        ["Would {n} enjoy a day out sailing?", "Would a yacht excursion appeal to {n}?"],
        "Probably not: {n} gets seasick.",
    ),
    (
        [
            "festivals are my idea of hell, forty thousand sweaty strangers no thanks",
            "I can't cope with massive crowds, I leave stadiums early every time",
        ],
        ["Would {n} be keen on a big open-air music event?", "Would {n} enjoy a packed arena show?"],
        "No, {n} hates big crowds.",
    ),
    (
        ["haven't touched meat in six years and don't miss it", "I'm veggie, have been since uni"],
        [
            "Would a steakhouse be a good pick for {n}'s birthday dinner?",
            "Should friends take {n} to a barbecue-and-ribs place?",
        ],
        "No, {n} is vegetarian.",
    ),
    (
        [
            "I put chilli oil on literally everything, the hotter the better",
            "if my eyes aren't watering the curry isn't hot enough",
        ],
        ["Would {n} enjoy a fiery Sichuan meal?", "Would very spicy food suit {n}?"],
        "Yes, {n} loves very spicy food.",
    ),
    (
        ["I do not function before eleven, mornings are a scam", "my alarm is set for 10:30 and even that feels cruel"],
        ["Would a 6am sunrise yoga session suit {n}?", "Is {n} likely to sign up for dawn bootcamp?"],
        "No, {n} is a night owl who hates early starts.",
    ),
    (
        [
            "glass floors make my knees go, I can't even do ladders",
            "heights are my absolute worst fear, I froze on a balcony once",
        ],
        ["Would {n} enjoy skydiving?", "Would {n} like a bungee jump for a birthday treat?"],
        "No, {n} is terrified of heights.",
    ),
    (
        [
            "finished four novels this month, the library staff know me by name",
            "I always have a paperback in my bag, reading is my whole personality",
        ],
        [
            "Would a quiet retreat with lots of books appeal to {n}?",
            "Is {n} a good person to ask for a novel recommendation?",
        ],
        "Yes, {n} is a big reader.",
    ),
    (
        [
            "I sneeze for days around anything furry with whiskers",
            "my eyes swell shut if a kitten so much as looks at me",
        ],
        ["Would {n} be comfortable staying in a house with three cats?", "Should {n} pet-sit a neighbour's moggy?"],
        "No, {n} is allergic to cats.",
    ),
    (
        [
            "lake dips in January are the best thing for my head",
            "cold water swims every morning, it's addictive honestly",
        ],
        ["Would {n} go for a winter sea plunge?", "Would {n} enjoy an icy wild-swimming outing?"],
        "Yes, {n} loves cold-water swimming.",
    ),
    (
        [
            "I'd rather take three trains than get on a plane",
            "not setting foot in an airport again if I can help it, flying makes me panic",
        ],
        [
            "Would {n} be happy to take a short-haul flight for a weekend?",
            "Is air travel a good option when planning with {n}?",
        ],
        "No, {n} avoids flying.",
    ),
    (
        [
            "karaoke is my church, give me a mic and a power ballad",
            "I know every word to every eighties anthem and I will sing them at you",
        ],
        ["Would {n} enjoy a singing night at a bar?", "Is a night belting out songs in a booth {n}'s kind of thing?"],
        "Yes, {n} loves karaoke.",
    ),
]

# cause -> effect pairs for "why" questions
# (cause lines, effect lines, question templates, answer, activity key)
CAUSES: list[tuple[list[str], list[str], list[str], str]] = [
    (
        [
            "rolled my ankle coming down the stairs, it's the size of a grapefruit",
            "went over on my ankle at the park, physio says three weeks off it",
        ],
        [
            "gonna have to sit out the hike on Saturday, sorry everyone",
            "count me out for the hike this weekend 😞 you lot go without me",
        ],
        ["Why did {n} drop out of the walk in the hills?", "What made {n} miss the trek at the weekend?"],
        "{n} had hurt an ankle.",
    ),
    (
        ["boiler died, replacing it is going to cost me {amt}", "car failed its MOT, {amt} in repairs, kill me"],
        ["not doing the festival this year, I'm skint", "gonna give the festival a miss, can't justify it"],
        ["Why is {n} skipping the music weekend this year?", "What is keeping {n} away from the summer music event?"],
        "Money is tight after a big repair bill.",
    ),
    (
        [
            "we're launching the new app on Friday, I basically live at the office",
            "audit week at work, fourteen-hour days until it's over",
        ],
        ["can't make {f}'s birthday drinks, so so sorry", "I'll have to miss {f}'s birthday thing, gutted"],
        ["Why did {n} not turn up to celebrate {f}'s birthday?", "What kept {n} from the party for {f}?"],
        "{n} was swamped with a work deadline.",
    ),
    (
        [
            "think the prawns at {resto} did me in, I've been ill all night",
            "food poisoning, pretty sure it was the seafood at {resto}",
        ],
        ["never eating at {resto} again, not even for free", "please don't suggest {resto}, I'm done with that place"],
        ["Why won't {n} go back to {resto}?", "What put {n} off {resto} for good?"],
        "{n} got food poisoning from the seafood there.",
    ),
    (
        [
            "the landlord's selling up, we have to be out by the end of {month}",
            "got a letter, the flat's being sold and we've been given notice",
        ],
        [
            "won't come on the cottage weekend, every spare minute is flat viewings",
            "I'll pass on the cottage trip, need to sort somewhere to live",
        ],
        ["Why did {n} turn down the countryside weekend?", "What made {n} skip the rural getaway with friends?"],
        "{n} has to find a new home because the landlord is selling.",
    ),
]

BUSINESSES: list[dict[str, object]] = [
    {
        "niche": "cooking channel",
        "says": ["my little cooking channel", "the recipe account"],
        "goods": ["knives", "skillets"],
    },
    {"niche": "cycling vlog", "says": ["the bike vlog", "my cycling videos"], "goods": ["lights", "bags"]},
    {"niche": "skincare page", "says": ["my skincare page", "the skincare account"], "goods": ["serums", "masks"]},
    {"niche": "gaming streams", "says": ["my streams", "the twitch channel"], "goods": ["headsets", "keyboards"]},
    {"niche": "knitting account", "says": ["my knitting account", "the yarn page"], "goods": ["yarn", "needles"]},
    {"niche": "outdoors channel", "says": ["the camping channel", "my outdoors videos"], "goods": ["tents", "filters"]},
]
DELIVERABLES = ["reels", "stories", "video", "posts"]

# --------------------------------------------------------------------------------------------
# Small talk
# --------------------------------------------------------------------------------------------

WEATHER_BAD = [
    "raining sideways",
    "grey and grim",
    "absolutely freezing",
    "windy enough to steal umbrellas",
    "drizzly all day",
    "weirdly foggy",
    "muggy and horrible",
]
WEATHER_GOOD = ["sunny for once", "actually warm", "blue skies", "gorgeous out", "t-shirt weather"]
MEALS = [
    "beans on toast",
    "a sad desk salad",
    "leftover curry",
    "cereal for dinner",
    "a massive bowl of pasta",
    "toast, again",
    "instant noodles",
    "a fridge-clearing omelette",
]
SNACKS = ["croissant", "bag of crisps", "cinnamon bun", "chocolate bar", "flat white", "samosa"]
MEME_ANIMALS = ["goat", "raccoon", "capybara", "pigeon", "duck", "otter", "seal"]
SMALLTALK = [
    "it's {bad} here again",
    "{bad} today, love that for us",
    "finally {good}!!",
    "weather app said {good} and it's {bad}, classic",
    "is it {bad} where you are too?",
    "anyone watching {show}?",
    "just started {show}, two episodes in already",
    "no spoilers for {show} please I'm behind",
    "that {show} finale though... speechless",
    "is {show} worth sticking with?",
    "rewatching {show} for the third time, no shame",
    "having {meal} tonight, living the dream",
    "what's everyone eating?",
    "could murder a {snack} right now",
    "I've had like four coffees",
    "dinner tonight is {meal}",
    "so tired today",
    "need a nap",
    "slept terribly",
    "my brain is mush",
    "long day",
    "what a week",
    "train was late again",
    "bus drove straight past me",
    "traffic was a nightmare this morning",
    "phone's about to die",
    "sorry was on a call",
    "brb",
    "back",
    "omw",
    "running five mins late",
    "sorry, only just seen this",
    "did you see that video of the {animal} on a skateboard",
    "sending you a meme, brace yourself",
    "that clip you sent of the {animal} 😂",
    "same old same old here",
    "quiet week honestly",
    "nothing to report from me",
    "been a weird day",
    "we should all catch up properly soon",
    "group call at some point?",
    "how is everyone?",
    "what's new with you all?",
    "how was your day?",
    "you around later?",
    "right, gotta go",
    "night all",
    "speak later",
    "ok bed",
    "love you lot",
    "laundry mountain is winning",
    "my neighbour is drilling again",
    "the wifi keeps dropping",
    "I keep forgetting to drink water",
    "started a jigsaw, regret it",
    "why is Monday like this",
    "need a holiday from my holiday lol",
    "my houseplant is dying and I don't know why",
    "can't find my keys, again",
    "been on hold for forty minutes",
    "this chat is chaos today",
    "just got caught in the rain without a jacket",
    "made a playlist, it slaps",
    "someone tell me to go to sleep",
    "whoever invented Mondays owes me an apology",
    "the {animal} meme account is the only good thing online",
    "I have 43 tabs open, send help",
    "my downstairs neighbour's cat is sitting on my windowsill again",
    "too hot to think",
    "ok who's awake",
    "morning all",
    "hey hey",
    "hiya 👋",
    "evening folks",
    "helloooo",
    "sorry I've been so quiet, life is a lot",
    "stop I'm crying at this",
    "I've lost the remote again",
    "does anyone else's phone autocorrect everything wrong",
    "going to attempt to be productive",
    "spent the afternoon reorganising a drawer, thrilling",
    "the kettle is my best friend today",
    "what day is it even",
    "Friday can't come soon enough",
    "that's the tea",
    "I've watched the same reel nine times",
    "ok I'm back, what did I miss",
    "just burnt my toast, great start",
    "the queue at the post office was biblical",
    "anyone know a good podcast for long walks?",
    "my sourdough is flat again, I give up",
    "I swear this week has lasted a month",
    "can't stop yawning",
    "power cut on our street, fun times",
    "the gym was heaving tonight",
    "my umbrella turned inside out, a personal low",
    "two hours of emails and I've achieved nothing",
    "spilled coffee on my keyboard, it's fine, everything's fine",
    "is it just me or is everything expensive now",
    "got lost walking to a place I've been ten times",
    "my {animal} calendar fell off the wall",
    "streaming {show} in bed, do not disturb",
    "it smells like rain",
    "someone's playing the trumpet badly next door",
    "just sneezed six times in a row",
    "cleaned the oven, I deserve a medal",
    "ok who finished the biscuits",
    "voice notes over 3 mins should be illegal",
    "this heat is unreal",
    "my tea went cold, again",
    "why are adverts so loud",
    "autumn vibes already",
    "pizza or curry tonight, go",
    "I need new headphones, mine only work on one side",
    "saw a tiny {animal} on the way home and it made my day",
    "mentally I'm already on the sofa",
    "big day of doing absolutely nothing",
    "the lift at work is broken again",
    "my fringe is a disaster",
    "there was a fox in the garden at 2am screaming",
    "forgot my lunch, buying a meal deal",
    "ok real question, is cereal a soup",
    "the self-checkout hates me",
    "just dropped my phone in the sink",
    "thinking about getting a fringe, talk me out of it",
    "the bins didn't get collected, again",
]
REACTIONS = [
    "haha",
    "lol",
    "lmao",
    "omg",
    "no wayyy",
    "ahh love that",
    "fair",
    "true true",
    "wait really?",
    "classic",
    "oof",
    "yikes",
    "same",
    "honestly same",
    "👍",
    "😂😂",
    "ha nice",
    "amazing",
    "go you!",
    "noooo",
    "ugh",
    "that's so good",
    "bless",
    "mood",
    "ok ok",
    "yesss",
    "noted",
    "that's wild",
    "hmm",
    "sounds about right",
    "proud of you",
    "rip",
    "big if true",
    "love this",
    "obsessed",
    "stop it",
    "no!!",
    "what",
    "for real?",
    "ahaha",
    "aw",
    "nice one",
    "incredible",
    "I mean... yeah",
    "sure",
    "yep",
    "nah",
    "hahaha amazing",
    "ok that's funny",
]
RUNON_JOIN = [" and ", " and also ", ", anyway ", "... ", " lol and ", ", oh and ", " and yeah "]

ABBREV: list[tuple[str, str]] = [
    ("tomorrow", "tmrw"),
    ("tonight", "tonite"),
    ("though", "tho"),
    ("people", "ppl"),
    ("because", "bc"),
    ("to be honest", "tbh"),
    ("not gonna lie", "ngl"),
    ("I don't know", "idk"),
    ("you", "u"),
    ("your", "ur"),
    ("please", "pls"),
    ("thanks", "thx"),
    ("really", "rly"),
    ("probably", "prob"),
    ("something", "smth"),
    ("about", "abt"),
    ("before", "b4"),
    ("by the way", "btw"),
    ("oh my god", "omg"),
    ("okay", "ok"),
    ("want to", "wanna"),
    ("with", "w/"),
    ("minutes", "mins"),
    ("definitely", "def"),
    ("seriously", "srsly"),
    ("birthday", "bday"),
    ("weekend", "wknd"),
    ("right now", "rn"),
    ("at the moment", "atm"),
    ("thank you", "ty"),
    ("message", "msg"),
    ("are", "r"),
]
PREFIX_SLANG = ["ngl ", "tbh ", "honestly ", "ok so ", "lol ", "btw ", "so ", "ahh ", "update: "]
EMOJI = ["😂", "🙈", "😭", "🙃", "✨", "🔥", "💀", "🥲", "👀", "❤️", "😅", "🙏", "🤞", "😬", "🎉", "🙌"]

# --------------------------------------------------------------------------------------------
# Text utilities (also used by the paraphrase check)
# --------------------------------------------------------------------------------------------

STOPWORDS = set(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "lol",
        "ok",
        "okay",
        "yeah",
        "yes",
        "oh",
        "got",
        "get",
        "gets",
        "getting",
        "gonna",
        "like",
        "really",
        "one",
        "two",
        "just",
        "still",
        "even",
        "much",
        "many",
        "well",
        "way",
        "back",
        "ever",
        "new",
        "s",
        "t",
        "d",
        "ll",
        "re",
        "ve",
        "m",
        "don",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "won",
        "can't",
        "i'm",
        "it's",
        "that's",
        "what's",
        "let's",
        "u",
        "ur",
        "im",
        "thing",
        "things",
        "bit",
        "lot",
        "first",
        "last",
        "next",
    ]
)

IRREGULAR = {
    "met": "meet",
    "lent": "lend",
    "bought": "buy",
    "paid": "pay",
    "went": "go",
    "got": "get",
    "took": "take",
    "sold": "sell",
    "ate": "eat",
    "flew": "fly",
    "left": "leave",
    "told": "tell",
    "found": "find",
    "gave": "give",
    "sent": "send",
    "brought": "bring",
    "said": "say",
    "made": "make",
    "came": "come",
    "ran": "run",
}


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def stem(word: str) -> str:
    word = IRREGULAR.get(word, word)
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def content_stems(text: str) -> set[str]:
    return {stem(t) for t in tokens(text) if t not in STOPWORDS and len(t) > 1}


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def long_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def chat_date(d: date, rng: random.Random) -> str:
    m = MONTHS[d.month - 1]
    return rng.choice(
        [
            f"the {ordinal(d.day)} of {m}",
            f"{m} {d.day}",
            f"{d.day} {m[:3]}",
            f"{WEEKDAYS[d.weekday()]} {d.day} {m}",
            f"{d.day}/{d.month}",
        ]
    )


def question_date(d: date, rng: random.Random) -> str:
    m = MONTHS[d.month - 1]
    return rng.choice([f"{d.day} {m}", f"{m} {d.day}", f"{d.day} {m} {d.year}"])


def money(cur: str, amount: int) -> str:
    return f"{cur}{amount:,}"


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    gender: str  # "f", "m" or "n"
    role: str

    @property
    def poss(self) -> str:
        return {"f": "her", "m": "his"}.get(self.gender, "their")


@dataclass
class Style:
    lower: float
    emoji: float
    abbrev: float
    typo: float
    runon: float
    terse: float
    slang: float
    drop_punct: float


@dataclass
class Turn:
    session: int
    speaker: str
    text: str
    rank: float
    protect: set[str]
    fact: bool = True
    tag: str = ""
    id: str = ""
    at: datetime | None = None


@dataclass
class Session:
    index: int
    start: datetime
    people: list[str]
    work: bool = False
    facts: list[Turn] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


class Renderer:
    """Helps a query pick wording after the turns are final (dates, synonyms, banned words)."""

    def __init__(self, rng: random.Random, banned: set[str]) -> None:
        self.rng = rng
        self.banned = banned

    def alt(self, key: str) -> str:
        forms = SYN[key]
        ok = [f for f in forms if not (content_stems(f) & self.banned)]
        return self.rng.choice(ok or forms)

    def day(self, turn: Turn) -> str:
        assert turn.at is not None
        return question_date(turn.at.date(), self.rng)

    def month(self, turn: Turn) -> str:
        assert turn.at is not None
        return f"{MONTHS[turn.at.month - 1]} {turn.at.year}"


Maker = Callable[[Renderer], list[str]]
Answer = str | Callable[[Renderer], str]


@dataclass
class QuerySpec:
    category: int
    expected: list[Turn]
    answer: Answer
    make: Maker


@dataclass
class Query:
    text: str
    expected: list[str]
    category: int
    answer: str


RARE_DF = 4  # a word in at most this many of a subject's turns counts as rare

# --------------------------------------------------------------------------------------------
# One subject
# --------------------------------------------------------------------------------------------


class Subject:
    """Builds one person's world, sessions, turns and queries."""

    def __init__(self, seed: int, index: int, avoid_names: set[str]) -> None:
        self.rng = random.Random(f"chatter/{seed}/{index}")
        self.index = index
        self.used_names: set[str] = set()
        self.used_cities: set[str] = set()
        self.used_eateries: set[str] = set()
        self.names_vocab: set[str] = set()  # every proper-name token (exempt from the check)
        self.specs: list[QuerySpec] = []
        self.cur = self.rng.choice(["£", "€", "$"])

        self.me = self.person("self", avoid=avoid_names)
        self.partner = self.person("partner") if self.rng.random() < 0.8 else None
        self.friends = [self.person("friend") for _ in range(3)]
        self.sibling = self.person("sibling")
        self.coworker = self.person("coworker")
        self.business = self.rng.choice(BUSINESSES) if self.rng.random() < 0.5 else None
        self.rep = self.person("rep") if self.business else None
        self.pet_kind: tuple[str, list[str]] | None = self.rng.choice(PETS) if self.rng.random() < 0.65 else None
        self.pet_name = self.rng.choice(PET_NAMES) if self.pet_kind else ""
        if self.pet_name:
            self.names_vocab.add(self.pet_name.lower())
        self.styles: dict[str, Style] = {}
        self.deck: list[str] = []
        self.dropped = 0
        self.sessions: list[Session] = []
        self.week_pair = 0
        self.make_sessions()

    # ---- world helpers ---------------------------------------------------------------------

    @property
    def S(self) -> str:
        return self.me.name

    def person(self, role: str, avoid: set[str] | None = None) -> Person:
        rng = self.rng
        while True:
            gender = rng.choice(["f", "f", "m", "m", "n"])
            pool = {"f": FEMALE, "m": MALE, "n": NEUTRAL}[gender]
            name = rng.choice(pool)
            if name not in self.used_names and not (avoid and name in avoid):
                break
        self.used_names.add(name)
        self.names_vocab.update(tokens(name))
        return Person(name, gender, role)

    def extra_name(self) -> str:
        return self.person("mention").name

    def city(self) -> str:
        c = self.rng.choice([c for c in CITIES if c not in self.used_cities])
        self.used_cities.add(c)
        self.names_vocab.update(tokens(c))
        return c

    def eatery(self) -> str:
        e = self.rng.choice([e for e in EATERIES if e not in self.used_eateries])
        self.used_eateries.add(e)
        self.names_vocab.update(tokens(e))
        return e

    def name_token(self, text: str) -> str:
        self.names_vocab.update(tokens(text))
        return text

    def form(self, key: str) -> str:
        return self.rng.choice(SYN[key])

    def random_style(self) -> Style:
        r = self.rng
        return Style(
            lower=r.choice([0.0, 0.1, 0.8, 1.0]),
            emoji=r.choice([0.0, 0.05, 0.25]),
            abbrev=r.choice([0.0, 0.3, 0.8]),
            typo=r.choice([0.0, 0.03, 0.08]),
            runon=r.choice([0.0, 0.0, 0.3]),
            terse=r.choice([0.0, 0.2, 0.55]),
            slang=r.choice([0.0, 0.1, 0.3]),
            drop_punct=r.random(),
        )

    # ---- sessions ----------------------------------------------------------------------------

    def make_sessions(self) -> None:
        rng = self.rng
        n = rng.randint(4, 7)
        social = [p.name for p in [self.partner, *self.friends, self.sibling, self.coworker] if p]
        work_slots: set[int] = set()
        if self.business:
            work_slots = set(rng.sample(range(1, n), 2)) if n > 2 else {1}
        self.week_pair = rng.randrange(n - 1)
        day = date(2025, 1, 6) + timedelta(days=rng.randint(0, 420))
        for i in range(n):
            if i > 0:
                gap = rng.randint(6, 8) if i - 1 == self.week_pair else rng.randint(10, 42)
                day += timedelta(days=gap)
            start = datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59))
            if i in work_slots and self.rep:
                people = [self.S, self.rep.name]
                if rng.random() < 0.4:
                    people.append(rng.choice([self.coworker.name] + ([self.partner.name] if self.partner else [])))
            else:
                people = [self.S, *rng.sample(social, rng.randint(1, 3))]
            self.sessions.append(Session(i, start, people, work=i in work_slots))
        for s in self.sessions:
            for p in s.people:
                if p not in self.styles:
                    self.styles[p] = self.random_style()

    @property
    def n(self) -> int:
        return len(self.sessions)

    def present(self, s: int, name: str) -> bool:
        return name in self.sessions[s].people

    def other(self, s: int, exclude: Sequence[str] = ()) -> str:
        choices = [p for p in self.sessions[s].people if p != self.S and p not in exclude]
        return self.rng.choice(choices) if choices else self.S

    def social_sessions(self) -> list[int]:
        return [s.index for s in self.sessions if not s.work]

    def pair(self, pool: Sequence[int] | None = None) -> tuple[int, int]:
        idx = sorted(self.rng.sample(list(pool if pool is not None else range(self.n)), 2))
        return idx[0], idx[1]

    def say(
        self, s: int, speaker: str, text: str, protect: Iterable[str] = (), after: Turn | None = None, tag: str = ""
    ) -> Turn:
        assert speaker in self.sessions[s].people, (speaker, s)
        rank = self.rng.random() * 0.9 + 0.05
        if after is not None and after.session == s:
            rank = after.rank + (1 - after.rank) * self.rng.uniform(0.15, 0.6)
        prot = {t for p in protect for t in tokens(p)}
        turn = Turn(s, speaker, text, rank, prot, tag=tag)
        self.sessions[s].facts.append(turn)
        if tag:
            self.sessions[s].tags.add(tag)
        return turn

    def ask(self, category: int, expected: list[Turn], answer: Answer, make: Maker) -> None:
        self.specs.append(QuerySpec(category, expected, answer, make))

    # ---- storylines --------------------------------------------------------------------------

    def st_friends(self) -> None:
        """Where each friend was met; one friend later moves away (multi-hop)."""
        rng, S = self.rng, self.S
        places = rng.sample(MEET_PLACES, len(self.friends))
        j = rng.randrange(1, self.n)
        meet: list[Turn] = []
        used_forms: list[str] = []
        for k, (f, pk) in enumerate(zip(self.friends, places, strict=False)):
            s = rng.randrange(0, j) if k == 0 else rng.randrange(self.n)
            ph = self.form(pk)
            used_forms.append(ph)
            years = rng.choice(["two", "three", "five", "six", "ten"])
            if self.present(s, f.name) and rng.random() < 0.5:
                line = rng.choice(
                    [
                        "{S} and I met at {p}, {y} years ago now, feels like yesterday",
                        "remember when we met at {p}, {S}? you were so shy",
                        "I still tell people we met at {p} and they never believe me",
                        "we go way back, {p} crew forever",
                    ]
                )
                speaker = f.name
            else:
                line = rng.choice(
                    [
                        "funny story, {f} and I met at {p} like {y} years ago",
                        "{f} was literally the first person I talked to at {p}",
                        "I only know {f} because of {p}, best thing that came out of it",
                        "people always ask how I know {f}... {p}, {y} years back",
                        "met {f} at {p} and we've been joined at the hip since",
                        "{f}? oh we met at {p}, only person there who laughed at my jokes",
                    ]
                )
                speaker = S
            meet.append(self.say(s, speaker, line.format(S=S, f=f.name, p=ph, y=years), [f.name, ph]))

        mover, city = self.friends[0], self.city()
        month = MONTHS[(self.sessions[j].start.month + rng.randint(0, 2)) % 12]
        if self.present(j, mover.name):
            line = rng.choice(
                [
                    "ok news: I'm moving to {c} in {m} 😭",
                    "signed a lease in {c} today, it's real now",
                    "so the job in {c} came through, I'm relocating in {m}",
                    "packing boxes already, {c} here I come",
                    "I'm leaving for {c} at the end of {m}, who wants my plants",
                ]
            )
            mv = self.say(j, mover.name, line.format(c=city, m=month), [city])
        else:
            line = rng.choice(
                [
                    "{f} is moving to {c}, I'm devastated",
                    "did you hear {f} found a flat in {c}? leaving in {m}",
                    "{f}'s off to {c} for good apparently",
                    "so {f} accepted that job in {c}, we need a leaving do",
                    "{f} just told me the news: relocating to {c} in {m}",
                ]
            )
            mv = self.say(j, S, line.format(f=mover.name, c=city, m=month), [city, mover.name])
        pk0 = places[0]
        self.ask(
            1,
            [meet[0], mv],
            city,
            lambda r: [
                f"Which city is the {r.alt('friend')} {S} first met at {r.alt(pk0)} moving to?",
                f"Where is {S}'s {r.alt('friend')} from {r.alt(pk0)} going to live?",
                f"The person {S} got to know at {r.alt(pk0)} is leaving town: for which city?",
                f"To what city is the {r.alt('friend')} {S} knows from {r.alt(pk0)} relocating?",
            ],
        )
        f2 = self.friends[1]
        self.ask(
            4,
            [meet[1]],
            used_forms[1],
            lambda r: [
                f"How did {S} and {f2.name} first get to know each other?",
                f"In what setting did {f2.name} and {S} originally cross paths?",
                f"Where did {S} first encounter {f2.name}?",
            ],
        )
        # a distractor relocation that nobody asks about
        f3 = self.friends[2]
        s3 = rng.randrange(self.n)
        c3 = self.city()
        sp = f3.name if self.present(s3, f3.name) else S
        rel = "my" if sp == f3.name else f"{f3.name}'s"
        self.say(
            s3,
            sp,
            rng.choice(
                [
                    "{r} cousin just moved to {c}, keeps sending pics",
                    "{r} old flatmate lives in {c} now, wild",
                ]
            ).format(r=rel, c=c3),
            [c3],
        )

    def st_plan_moved(self) -> None:
        """A trip is booked, later moved (now vs at first)."""
        rng, S = self.rng, self.S
        i, j = self.pair()
        city = self.city()
        d1 = self.sessions[j].start.date() + timedelta(days=rng.randint(12, 40))
        d2 = d1 + timedelta(days=rng.choice([-9, -6, 7, 9, 14, 21]))
        sp1 = S
        t1 = self.say(
            i,
            sp1,
            rng.choice(
                [
                    "booked it!! {c}, flying out {d}",
                    "ok {c} is happening, train on {d}, hotel sorted",
                    "we're off to {c} on {d}, just paid the deposit on the apartment",
                    "{c} tickets bought ✈️ {d} can't come fast enough",
                    "took the plunge and booked {c}, we go {d}",
                ]
            ).format(c=city, d=chat_date(d1, rng)),
            [city],
        )
        reason, why = rng.choice(
            [
                ("my boss needs me for the quarterly review", "A boss needed them for the quarterly review."),
                ("the hotel double-booked us", "The hotel double-booked them."),
                ("prices were mad that weekend", "Prices were too high that weekend."),
                ("there's a rail strike", "A rail strike."),
                ("my passport renewal is taking forever", "A slow passport renewal."),
            ]
        )
        sp2 = self.partner.name if self.partner and self.present(j, self.partner.name) and rng.random() < 0.5 else S
        t2 = self.say(
            j,
            sp2,
            rng.choice(
                [
                    "slight change, {c} got pushed to {d} because {r}",
                    "ugh {c} is now {d}, {r}",
                    "moved the {c} thing to {d}, {r}",
                    "new dates for {c}: leaving {d} instead, {r}",
                    "heads up, {c} shifts to {d} since {r}",
                ]
            ).format(c=city, d=chat_date(d2, rng), r=reason),
            [city],
        )
        self.ask(
            2,
            [t2],
            long_date(d2),
            lambda r: [
                f"As things stand, when does {S} set off for {city}?",
                f"What is the current departure date for {S}'s {city} {r.alt('trip')}?",
                f"After the rescheduling, on what date is {S} travelling to {city}?",
            ],
        )
        self.ask(
            2,
            [t1],
            long_date(d1),
            lambda r: [
                f"What was the original date of {S}'s {city} {r.alt('trip')}?",
                f"Before anything was rearranged, when was {S} meant to head to {city}?",
                f"When had {S} initially planned to leave for {city}?",
            ],
        )
        self.ask(
            3,
            [t2],
            why,
            lambda r: [
                f"Why did the {city} {r.alt('trip')} get rearranged?",
                f"What was the reason {S}'s {city} dates changed?",
            ],
        )

    def st_haggle(self) -> None:
        """Price asked for a second-hand item, then negotiated down."""
        rng, S = self.rng, self.S
        item = rng.choice(HAGGLE_ITEMS)
        i, j = self.pair()
        p1 = rng.choice([120, 180, 240, 350, 420, 600, 850, 1200, 2500])
        p2 = int(p1 * rng.uniform(0.65, 0.9)) // 5 * 5
        ph = self.form(item)
        t1 = self.say(
            i,
            S,
            rng.choice(
                [
                    "found {it} online, the seller wants {p}",
                    "the guy selling {it} is asking {p}, bit steep no?",
                    "{it} listing says {p} or nearest offer, tempted",
                    "been eyeing {it} for {p} all week",
                ]
            ).format(it=ph, p=money(self.cur, p1)),
            [ph],
            tag="purchase",
        )
        t2 = self.say(
            j,
            S,
            rng.choice(
                [
                    "got him down to {p}, collecting it on Saturday",
                    "settled on {p} in the end, cash on pickup",
                    "paid {p}, he knocked a bit off because of a scratch",
                    "it's mine! {p}, haggling champion",
                    "we agreed {p} and he threw in the cover",
                ]
            ).format(p=money(self.cur, p2)),
            tag="purchase",
        )
        self.ask(
            2,
            [t2],
            money(self.cur, p2),
            lambda r: [
                f"How much did {S} end up paying for {r.alt(item)}?",
                f"What was the final {r.alt('price')} {S} handed over for {r.alt(item)}?",
            ],
        )
        self.ask(
            2,
            [t1],
            money(self.cur, p1),
            lambda r: [
                f"What {r.alt('price')} was originally being asked for {r.alt(item)} {S} wanted?",
                f"Before the bargaining, how much did the seller want for {r.alt(item)}?",
            ],
        )

    def st_interview(self) -> None:
        """Job interview, then a decision the week after."""
        rng, S = self.rng, self.S
        k = self.week_pair
        company = self.name_token(rng.choice(COMPANY_A) + rng.choice(COMPANY_B))
        role = rng.choice(ROLES)
        t1 = self.say(
            k,
            S,
            rng.choice(
                [
                    "interview at {c} this afternoon for the {r} role, wish me luck",
                    "just came out of the {c} interview, {r} job, I think it went ok?",
                    "second round with {c} done, they grilled me for an hour about the {r} position",
                    "{c} want to see me again for {r}, final stage!!",
                ]
            ).format(c=company, r=role),
            [company, role],
        )
        accept = rng.random() < 0.6
        if accept:
            line = rng.choice(
                [
                    "I said yes!! start in {m}",
                    "they offered and I'm taking it, eek",
                    "signed the contract this morning, I'm in",
                    "accepted!!! handing my notice in tomorrow",
                ]
            )
            answer = "Accepted the job offer."
        else:
            line = rng.choice(
                [
                    "turned the offer down, the salary was a joke",
                    "said no to them in the end, the commute would have killed me",
                    "declined, my current place matched the pay",
                    "I passed on it, didn't feel right",
                ]
            )
            answer = "Turned the job offer down."
        month = MONTHS[(self.sessions[k + 1].start.month + 1) % 12]
        t2 = self.say(k + 1, S, line.format(m=month))
        self.ask(
            2,
            [t2],
            answer,
            lambda r: [
                f"What did {S} decide the week after the {company} interview?",
                f"About a week after meeting {company}, what was {S}'s call on their job?",
                f"Seven days or so after talking to {company}, what did {S} choose to do?",
            ],
        )
        self.ask(
            4,
            [t1],
            role,
            lambda r: [
                f"Which {r.alt('job_title')} was {S} applying for at {company}?",
                f"What kind of job did {S} go for with {company}?",
            ],
        )

    def st_dated_buy(self) -> None:
        """A purchase on a day; asked about by explicit date."""
        rng, S = self.rng, self.S
        free = [s.index for s in self.sessions if "purchase" not in s.tags]
        if not free:
            return
        s = rng.choice(free)
        thing = rng.choice(DATE_BUYS)
        t = self.say(
            s,
            S,
            rng.choice(
                [
                    "treated myself to {t} today",
                    "finally bought {t}, no regrets",
                    "{t} arrived this morning!!",
                    "impulse buy of the day: {t}",
                    "caved and ordered {t}, it came already",
                ]
            ).format(t=thing),
            [thing],
            tag="purchase",
        )
        self.ask(
            2,
            [t],
            thing,
            lambda r: [
                f"What did {S} {r.alt('buy')} on {r.day(t)}?",
                f"Which item did {S} acquire on {r.day(t)}?",
            ],
        )

    def st_cause(self) -> None:
        """Something happens; a later cancellation is explained by it (inference)."""
        rng, S = self.rng, self.S
        cause_lines, effect_lines, qs, answer = rng.choice(CAUSES)
        i, j = self.pair()
        other = self.friends[2].name
        resto = self.eatery()
        amt = money(self.cur, rng.choice([900, 1400, 2100, 650]))
        month = MONTHS[(self.sessions[i].start.month + 1) % 12]
        kw = dict(f=other, resto=resto, amt=amt, month=month, n=S)
        t1 = self.say(i, S, rng.choice(cause_lines).format(**kw), [resto, other])
        t2 = self.say(j, S, rng.choice(effect_lines).format(**kw), [resto, other])
        self.ask(3, [t1, t2], answer.format(**kw), lambda r: [q.format(**kw) for q in qs])

    def st_preferences(self) -> None:
        """Likes and dislikes, for 'would X enjoy Y' questions."""
        rng = self.rng
        prefs = rng.sample(PREFERENCES, 3)
        people = [self.me, self.me, rng.choice(self.friends + ([self.partner] if self.partner else []))]
        for person, (lines, qs, answer) in zip(people, prefs, strict=False):
            sessions = [s.index for s in self.sessions if person.name in s.people]
            if not sessions:
                continue
            s = rng.choice(sessions)
            t = self.say(s, person.name, rng.choice(lines))
            nm = person.name
            self.ask(3, [t], answer.format(n=nm), lambda r, qs=qs, nm=nm: [q.format(n=nm) for q in qs])

    def st_pet(self) -> None:
        """Adopting a pet, a vet visit later."""
        if not self.pet_kind:
            return
        rng, S = self.rng, self.S
        key, forms = self.pet_kind
        pet = self.pet_name
        i, j = self.pair()
        t1 = self.say(
            i,
            S,
            rng.choice(
                [
                    "we adopted {a}!! called {p}, already obsessed",
                    "meet {p}, {a} from the shelter, came home today",
                    "so... I brought home {a}. {p}. no regrets",
                    "new family member: {a} named {p}",
                ]
            ).format(a=rng.choice(forms), p=pet),
            [pet],
        )
        issue, issue_short = rng.choice(VET_ISSUES)
        t2 = self.say(
            j,
            S,
            rng.choice(
                [
                    "{p} is at the vet, {i}",
                    "vet says {p} {i}, poor baby",
                    "{c} later and {p} is fine, turns out {p} {i}",
                ]
            ).format(p=pet, i=issue, c=money(self.cur, rng.choice([80, 140, 320, 560]))),
            [pet],
        )
        self.ask(
            4,
            [t1],
            pet,
            lambda r: [
                f"What is the name of {S}'s new {r.alt(key)}?",
                f"What did {S} name the new {r.alt(key)}?",
                f"What's {S}'s {r.alt(key)} named?",
            ],
        )
        self.ask(
            1,
            [t1, t2],
            issue_short,
            lambda r: [
                f"What was wrong with the {r.alt(key)} {S} took in, according to the vet?",
                f"What health problem did {S}'s adopted {r.alt(key)} turn out to have?",
            ],
        )
        self.ask(
            2,
            [t1],
            lambda r: r.month(t1),
            lambda r: [
                f"When did {S} take in the {r.alt(key)}?",
                f"In which month did the {r.alt(key)} join {S}'s household?",
            ],
        )

    def st_gig(self) -> None:
        """Dinner after a concert; the place is later mentioned indirectly and its fate told."""
        rng, S = self.rng, self.S
        sess = sorted(rng.sample(range(self.n), 3))
        band = self.name_token(f"{rng.choice(BAND_A)} {rng.choice(BAND_B)}")
        resto = self.eatery()
        dish, _dish2 = rng.sample(DISHES, 2)
        t1 = self.say(
            sess[0],
            S,
            rng.choice(
                [
                    "after the {b} gig we ended up at {e} and {d} was unreal",
                    "{b} were incredible last night, then {e} for {d} at midnight",
                    "post-{b} feast at {e}, {d}, I'm still thinking about it",
                ]
            ).format(b=band, e=resto, d=dish),
            [band, resto],
        )
        sp = self.other(sess[1])
        t2 = self.say(
            sess[1],
            sp,
            rng.choice(
                [
                    "we need to go back to that place from after the gig, I'd do it tonight",
                    "still dreaming about that spot from gig night, can we go again",
                    "when are we going back to the gig-night place? I'm craving it",
                ]
            ),
            after=None,
        )
        fate, fate_short = rng.choice(
            [
                ("{e} has shut down, the sign's already gone", "It closed down."),
                ("{e} moved to a bigger site on {st}", "It moved to a bigger site on {st}."),
                (
                    "{e} got a big write-up in the paper, you can't get a table now",
                    "It got famous and is impossible to book.",
                ),
                ("{e} changed owners and the menu is totally different", "It changed owners and menu."),
            ]
        )
        street = self.name_token(rng.choice(STREETS))
        t3 = self.say(
            sess[2], self.S, fate.format(e=resto, st=street), [resto], after=t2 if sess[2] == sess[1] else None
        )
        self.ask(
            4,
            [t1],
            resto,
            lambda r: [
                f"Where did {S} eat after seeing {band} live?",
                f"Which {r.alt('eatery')} did {S} go to once the {band} {r.alt('gig')} was over?",
            ],
        )
        self.ask(
            1,
            [t1, t3],
            fate_short.format(st=street),
            lambda r: [
                f"What happened later to the {r.alt('eatery')} {S} visited after the {band} {r.alt('gig')}?",
                f"What became of the {r.alt('eatery')} where {S} had dinner after {band} played?",
            ],
        )
        self.ask(
            4,
            [t2],
            sp,
            lambda r: [
                f"Who was keen to return to the {r.alt('eatery')} from the {r.alt('gig')} night?",
                f"Who kept asking to revisit the {r.alt('eatery')} they went to after the {r.alt('gig')}?",
            ],
        )

    def st_family(self) -> None:
        """Sibling's wedding (place, then date) and a parent's operation."""
        rng, S = self.rng, self.S
        sib = self.sibling
        sib_key = {"f": "sister", "m": "brother"}.get(sib.gender, "sibling")
        i, j = self.pair()
        city = self.city()
        other = self.extra_name()
        kin = {"f": "my sister", "m": "my brother"}.get(sib.gender, "my sibling")
        if self.present(i, sib.name):
            t1 = self.say(
                i,
                sib.name,
                rng.choice(
                    [
                        "ok official announcement: {o} and I are getting married, in {c}!",
                        "we've picked {c} for the wedding, {o} is already making spreadsheets",
                    ]
                ).format(o=other, c=city),
                [city, other],
            )
        else:
            t1 = self.say(
                i,
                S,
                rng.choice(
                    [
                        "{k} {s} is getting married!! in {c}, next year",
                        "{s} and {o} are engaged, wedding's going to be in {c}",
                        "{s} finally proposed to {o}, they want to do it in {c}",
                    ]
                ).format(k=kin, s=sib.name, o=other, c=city),
                [city, other, sib.name],
            )
        wd = self.sessions[j].start.date() + timedelta(days=rng.randint(60, 200))
        if self.present(j, sib.name):
            t2 = self.say(
                j,
                sib.name,
                rng.choice(
                    [
                        "wedding date is finally set: {d}, block it out everyone",
                        "venue's booked, we're getting married on {d}!!",
                    ]
                ).format(d=chat_date(wd, rng)),
            )
        else:
            t2 = self.say(
                j,
                S,
                rng.choice(
                    [
                        "save the date just landed, {s}'s wedding is {d}",
                        "{s} has set a date for the wedding: {d}, booking leave now",
                        "{s}'s big day is {d}, the venue's confirmed",
                    ]
                ).format(s=sib.name, d=chat_date(wd, rng)),
                [sib.name],
            )
        self.ask(
            4,
            [t1],
            city,
            lambda r: [
                f"In which city will {S}'s {r.alt(sib_key)} tie the knot?",
                f"Where is {sib.name}'s {r.alt('wedding')} taking place?",
            ],
        )
        self.ask(
            2,
            [t2],
            long_date(wd),
            lambda r: [
                f"On what date is {sib.name}'s {r.alt('wedding')}?",
                f"When will {S}'s {r.alt(sib_key)} get hitched?",
            ],
        )
        op_line, op, parent = rng.choice(OPERATIONS)
        s = rng.randrange(self.n)
        od = self.sessions[s].start.date() + timedelta(days=rng.randint(5, 30))
        t3 = self.say(
            s,
            S,
            rng.choice(
                [
                    "{p}'s {o} on {d}, bit nervous tbh",
                    "so {p} is {o} on {d}, I'll go up and stay for a week",
                ]
            ).format(p=parent, o=op_line, d=chat_date(od, rng)),
            [op_line],
        )
        self.ask(
            4,
            [t3],
            op,
            lambda r: [
                f"What {r.alt('surgery')} is {S}'s {r.alt(parent)} going in for?",
                f"What medical treatment is scheduled for {S}'s {r.alt(parent)}?",
            ],
        )

    def st_job(self) -> None:
        """A new manager and a promotion."""
        rng, S = self.rng, self.S
        boss = self.extra_name()
        s1, s2 = self.pair()
        ex = self.name_token(rng.choice(COMPANY_A) + rng.choice(COMPANY_B))
        t1 = self.say(
            s1,
            S,
            rng.choice(
                [
                    "we've got a new manager, {b}, ex-{x}, seems sound",
                    "new boss started Monday, {b}, very into spreadsheets",
                    "{b} is running our team now, came over from {x}",
                ]
            ).format(b=boss, x=ex),
            [boss, ex],
        )
        title = rng.choice(TITLES)
        sp = self.coworker.name if self.present(s2, self.coworker.name) else S
        text = (
            f"congrats on making {title}, {S}!! drinks on you"
            if sp != S
            else rng.choice(
                [
                    f"got promoted to {title}!!",
                    f"I'm officially {title} as of today",
                    f"they made me {title}, pay rise and everything",
                ]
            )
        )
        t2 = self.say(s2, sp, text, [boss, title])
        self.ask(
            4,
            [t1],
            boss,
            lambda r: [
                f"Who is {S}'s new {r.alt('boss')}?",
                f"Who took charge of {S}'s team at work?",
            ],
        )
        self.ask(
            4,
            [t2],
            title,
            lambda r: [
                f"What {r.alt('job_title')} does {S} hold after moving up at work?",
                f"What did {S} step up to at the office?",
            ],
        )

    def st_loan(self) -> None:
        """Money lent to a friend, repaid later."""
        rng, S = self.rng, self.S
        f = self.friends[1]
        i, j = self.pair()
        amt = money(self.cur, rng.choice([150, 300, 450, 800, 1000]))
        purpose = rng.choice(["the van hire", "the deposit on the flat", "a new laptop", "vet bills", "the car tax"])
        t1 = self.say(
            i,
            S,
            rng.choice(
                [
                    "lent {f} {a} for {p}, don't tell anyone",
                    "{f} needed {a} for {p} so I sorted it",
                    "bailed {f} out with {a} for {p}, it's fine, we're mates",
                ]
            ).format(f=f.name, a=amt, p=purpose),
            [f.name, purpose],
        )
        if self.present(j, f.name):
            t2 = self.say(
                j,
                f.name,
                rng.choice(
                    [
                        "transferred you the money back {S}, thank you for being a legend",
                        "{S} check your account, we're square now",
                    ]
                ).format(S=S),
            )
        else:
            t2 = self.say(
                j,
                S,
                rng.choice(
                    [
                        "{f} paid me back every penny btw",
                        "{f} settled up today, faith in humanity restored",
                    ]
                ).format(f=f.name),
                [f.name],
            )
        self.ask(
            4,
            [t1],
            amt,
            lambda r: [
                f"How much did {f.name} borrow from {S}?",
                f"What sum did {S} give {f.name} as a loan?",
            ],
        )
        self.ask(
            2,
            [t2],
            lambda r: long_date(t2.at.date()) if t2.at else "",
            lambda r: [
                f"When did {f.name} return the money {S} had loaned?",
                f"On which day was {S} reimbursed by {f.name}?",
            ],
        )

    def st_partner(self) -> None:
        """Partner identity, job and a birthday present."""
        if not self.partner:
            return
        rng, S, P = self.rng, self.S, self.partner
        word = {"f": "girlfriend", "m": "boyfriend"}.get(P.gender, "partner")
        i, j = self.pair()
        years = rng.choice(["two", "three", "four", "seven"])
        t1 = self.say(
            i,
            S,
            rng.choice(
                [
                    "{p} and I hit {y} years together this week 🥹",
                    "can't believe {p} has put up with me for {y} years",
                    "anniversary dinner with {p} tonight, {y} years!",
                ]
            ).format(p=P.name, y=years),
            [P.name],
        )
        job3, job1, job_short = rng.choice(PARTNER_JOBS)
        if self.present(j, P.name):
            t2 = self.say(j, P.name, rng.choice(["long week, I {j}", "sorry, slow replies, I {j}"]).format(j=job1))
        else:
            t2 = self.say(j, S, rng.choice(["{p} {j}", "you know {p} {j}, right?"]).format(p=P.name, j=job3), [P.name])
        self.ask(
            1,
            [t1, t2],
            job_short,
            lambda r: [
                f"What does {S}'s long-term {word} do for a living?",
                f"What is the occupation of the person {S} has been dating for {years} years?",
            ],
        )
        gift = rng.choice(GIFTS)
        s = rng.randrange(self.n)
        t3 = self.say(
            s,
            S,
            rng.choice(
                [
                    "got {p} {g} for the birthday, hope it lands",
                    "{p}'s birthday sorted: {g}, shh",
                    "went with {g} for {p} this year",
                ]
            ).format(p=P.name, g=gift),
            [P.name, gift],
        )
        self.ask(
            4,
            [t3],
            gift,
            lambda r: [
                f"What {r.alt('gift')} did {S} pick out for {P.name}?",
                f"What is {S} giving {P.name} to celebrate turning a year older?",
            ],
        )

    def st_trip_back(self) -> None:
        """Back from a city; asked by month, and about the food."""
        rng, S = self.rng, self.S
        s = rng.randrange(self.n)
        city = self.city()
        food = rng.choice(TRIP_FOODS)
        t = self.say(
            s,
            S,
            rng.choice(
                [
                    "back from {c}! ate my body weight in {f}",
                    "home from {c}, legs destroyed, {f} every single day",
                    "{c} was a dream, already miss the {f}",
                ]
            ).format(c=city, f=food),
            [city, food],
        )
        self.ask(
            2,
            [t],
            city,
            lambda r: [
                f"Which city had {S} just returned from in {r.month(t)}?",
                f"Where had {S} been travelling shortly before {r.day(t)}?",
            ],
        )
        self.ask(
            4,
            [t],
            food,
            lambda r: [
                f"What did {S} overindulge in while in {city}?",
                f"Which dish did {S} keep eating in {city}?",
            ],
        )

    def st_rent(self) -> None:
        """Rent rise, then flat hunting (inference)."""
        rng, S = self.rng, self.S
        i, j = self.pair()
        new = money(self.cur, rng.choice([950, 1250, 1480, 1700, 2100]))
        t1 = self.say(
            i,
            S,
            rng.choice(
                [
                    "landlord's putting it up to {a} a month from {m}, daylight robbery",
                    "letter from the letting agent: {a} per month starting {m}",
                ]
            ).format(a=new, m=MONTHS[(self.sessions[i].start.month + 1) % 12]),
        )
        area = self.name_token(rng.choice(["Hillside", "Northgate", "Riverside", "Eastfield", "Brookvale"]))
        t2 = self.say(
            j,
            S,
            rng.choice(
                [
                    "been viewing flats in {a} all weekend, some absolute shoeboxes",
                    "we put an offer on a one-bed in {a}, fingers crossed",
                ]
            ).format(a=area),
            [area],
        )
        self.ask(
            4,
            [t1],
            new,
            lambda r: [
                f"What will {S}'s {r.alt('rent')} be after the increase?",
                f"How much will {S} be charged monthly for housing after the hike?",
            ],
        )
        self.ask(
            3,
            [t1, t2],
            "The rent was going up.",
            lambda r: [
                f"Why is {S} looking for somewhere else to live?",
                f"What pushed {S} to start house hunting?",
            ],
        )

    def st_business(self) -> None:
        """A company sponsors the side business: offer, haggle, parcel, invoice."""
        if not self.business or not self.rep:
            return
        rng, S, R = self.rng, self.S, self.rep.name
        biz = self.business
        work = [s.index for s in self.sessions if s.work]
        a, b = work[0], work[-1]
        if a == b:
            return
        company = self.name_token(rng.choice(COMPANY_A) + rng.choice(COMPANY_B))
        goods_key = rng.choice(list(biz["goods"]))  # type: ignore[arg-type]
        goods = self.form(goods_key)
        deliv_key = rng.choice(DELIVERABLES)
        deliv = self.form(deliv_key)
        count = rng.choice(["two", "three", "four"])
        channel = rng.choice(list(biz["says"]))  # type: ignore[arg-type]
        fee1 = rng.choice([600, 800, 1000, 1500, 2200])
        fee2 = fee1 + rng.choice([150, 250, 400, 500])
        t_open = self.say(
            a,
            R,
            rng.choice(
                [
                    "Hi {S}! {R} here from {c}. We love {ch} and would like a paid collab: {n} {d} featuring our {g}.",
                    "hello {S}, {R} at {c} - any chance you'd do {n} {d} around our new {g}?",
                ]
            ).format(S=S, R=R, c=company, ch=channel.replace("my ", "your "), n=count, d=deliv, g=goods),
            [company, R],
        )
        t_fee1 = self.say(
            a,
            R,
            rng.choice(
                [
                    "Budget-wise we're thinking {f} all in.",
                    "we can offer {f} for the package",
                    "the number I've been given is {f} total",
                ]
            ).format(f=money(self.cur, fee1)),
            after=t_open,
        )
        self.say(
            a,
            S,
            rng.choice(
                [
                    "my rate for that is usually {f}, could we get closer?",
                    "hmm, I normally charge {f} for that much work",
                ]
            ).format(f=money(self.cur, fee2 + rng.choice([100, 300]))),
            after=t_fee1,
        )
        t_fee2 = self.say(
            b,
            R,
            rng.choice(
                [
                    "Good news, finance signed off on {f}.",
                    "we can stretch to {f}, final answer from our side",
                    "ok, {f} it is, I fought for it!",
                ]
            ).format(f=money(self.cur, fee2)),
        )
        courier = self.name_token(rng.choice(COURIERS))
        t_ship = self.say(
            a,
            R,
            rng.choice(
                [
                    "samples go out with {k} tomorrow, should land in 3-4 days",
                    "I've asked the warehouse to send the {g} via {k}",
                ]
            ).format(k=courier, g=goods),
            [courier, goods],
            after=t_fee1,
        )
        damage = rng.choice(["cracked", "missing its lid", "dented", "the wrong colour"])
        t_arr = self.say(
            b,
            S,
            rng.choice(
                [
                    "the box landed, all good apart from one that's {x}",
                    "unboxed everything, one item arrived {x} though",
                ]
            ).format(x=damage),
            [damage],
            after=t_fee2,
        )
        inv = f"{rng.choice(['INV', 'NO', '#'])}-{rng.randint(1000, 9999)}"
        self.names_vocab.update(tokens(inv))
        terms = rng.choice(["30 days", "14 days", "end of month"])
        t_inv = self.say(
            b,
            S,
            rng.choice(
                [
                    "bill's in your inbox, ref {i}, payable within {t}",
                    "sent over my paperwork for the money, {i}, {t} terms",
                ]
            ).format(i=inv, t=terms),
            after=t_arr,
        )
        self.ask(
            2,
            [t_fee2],
            money(self.cur, fee2),
            lambda r: [
                f"What is {company} now paying {S} for the {r.alt(deliv_key)}?",
                f"After renegotiating, how much will {S} receive from {company}?",
            ],
        )
        self.ask(
            2,
            [t_fee1],
            money(self.cur, fee1),
            lambda r: [
                f"What did {company} initially propose to pay {S}?",
                f"What was {company}'s opening offer to {S}?",
            ],
        )
        self.ask(
            1,
            [t_open, t_ship],
            courier,
            lambda r: [
                f"Which {r.alt('courier')} is bringing the free products from the {r.alt('company')} {R} works for?",
                f"Who is delivering the samples sent by {R}'s {r.alt('company')}?",
            ],
        )
        self.ask(
            3,
            [t_arr],
            f"One item arrived {damage}.",
            lambda r: [
                f"Why might {S} ask {company} for a replacement?",
                f"Was there any problem with what {company} sent {S}?",
            ],
        )
        self.ask(
            4,
            [t_inv],
            inv,
            lambda r: [
                f"What reference did {S} put on the {r.alt('bill')} for {company}?",
                f"Which number identifies {S}'s payment request to {company}?",
            ],
        )
        self.ask(
            4,
            [t_open],
            count,
            lambda r: [
                f"How many {r.alt(deliv_key)} does {company} want from {S}?",
            ],
        )

    # ---- assembly ----------------------------------------------------------------------------

    def build(self) -> tuple[list[Turn], list[Query]]:
        rng = self.rng
        core = [self.st_friends, self.st_plan_moved, self.st_cause, self.st_preferences]
        extra = [
            self.st_haggle,
            self.st_interview,
            self.st_dated_buy,
            self.st_pet,
            self.st_gig,
            self.st_family,
            self.st_job,
            self.st_loan,
            self.st_partner,
            self.st_trip_back,
            self.st_rent,
        ]
        chosen = core + rng.sample(extra, rng.randint(5, 7))
        if self.business:
            chosen.append(self.st_business)
        for story in chosen:
            story()
        turns = self.assemble()
        queries = self.render_queries(turns)
        return turns, queries

    def filler_text(self, speaker: str, after_fact: bool) -> str:
        rng = self.rng
        style = self.styles[speaker]
        if (after_fact and rng.random() < 0.6) or rng.random() < style.terse:
            return rng.choice(REACTIONS)
        if not self.deck:
            self.deck = list(SMALLTALK)
            rng.shuffle(self.deck)
        line = self.deck.pop()
        return line.format(
            bad=rng.choice(WEATHER_BAD),
            good=rng.choice(WEATHER_GOOD),
            show=rng.choice(SHOWS),
            meal=rng.choice(MEALS),
            snack=rng.choice(SNACKS),
            animal=rng.choice(MEME_ANIMALS),
        )

    def stylise(self, text: str, speaker: str, protect: set[str], fact: bool) -> str:
        rng = self.rng
        st = self.styles[speaker]
        if fact and rng.random() < st.runon:
            extra = self.filler_text(speaker, False)
            text = (
                (text.rstrip(".!") + rng.choice(RUNON_JOIN) + extra)
                if rng.random() < 0.6
                else (extra.rstrip(".!") + rng.choice(RUNON_JOIN) + text)
            )
        if rng.random() < st.slang:
            text = rng.choice(PREFIX_SLANG) + text[0].lower() + text[1:]
        for long, short in ABBREV:
            if rng.random() < st.abbrev:
                text = re.sub(rf"\b{re.escape(long)}\b", short, text, flags=re.IGNORECASE)

        def typo(m: re.Match[str]) -> str:
            w = m.group(0)
            if w.lower() in protect or rng.random() >= st.typo:
                return w
            k = rng.randrange(1, len(w) - 2)
            return w[:k] + w[k + 1] + w[k] + w[k + 2 :]

        text = re.sub(r"[A-Za-z]{5,}", typo, text)
        if rng.random() < st.emoji:
            text += " " + rng.choice(EMOJI)
        if rng.random() < st.lower:
            text = text.lower()
        if st.drop_punct > 0.5:
            text = text.rstrip(".")
        return text

    def assemble(self) -> list[Turn]:
        rng = self.rng
        n_facts = sum(len(s.facts) for s in self.sessions)
        total = max(rng.randint(60, 120), n_facts + 3 * self.n + 12)
        total = min(total, 120)
        filler_left = max(total - n_facts, 2 * self.n)
        # share filler between sessions, at least 2 each
        weights = [rng.uniform(0.6, 1.4) for _ in self.sessions]
        shares = [2 + int((filler_left - 2 * self.n) * w / sum(weights)) for w in weights]
        shares[-1] += filler_left - sum(shares)
        protect_all = set(self.names_vocab)
        out: list[Turn] = []
        for sess, n_fill in zip(self.sessions, shares, strict=False):
            facts = sorted(sess.facts, key=lambda t: t.rank)
            size = len(facts) + n_fill
            # the first turn is always small talk; facts take sorted random positions after it
            positions = sorted(rng.sample(range(1, size), len(facts)))
            slot: dict[int, Turn] = dict(zip(positions, facts, strict=False))
            now = sess.start
            prev_speaker = ""
            prev_fact = False
            for k in range(size):
                if k in slot:
                    t = slot[k]
                    t.text = self.stylise(t.text, t.speaker, protect_all | t.protect, True)
                else:
                    cands = [p for p in sess.people if p != prev_speaker] or sess.people
                    sp = rng.choice(cands)
                    t = Turn(sess.index, sp, "", 0.0, set(), fact=False)
                    t.text = self.stylise(self.filler_text(sp, prev_fact), sp, protect_all, False)
                now += timedelta(seconds=rng.randint(20, 540))
                t.at = now
                t.id = f"S{sess.index + 1}:{k + 1}"
                out.append(t)
                prev_speaker, prev_fact = t.speaker, t.fact
        return out

    def render_queries(self, turns: list[Turn]) -> list[Query]:
        rng = self.rng
        df: Counter[str] = Counter()
        for t in turns:
            df.update(content_stems(t.text))
        names = {stem(w) for w in self.names_vocab} | set(self.names_vocab)
        valid: list[Query] = []
        for spec in self.specs:
            banned = {w for t in spec.expected for w in content_stems(t.text) if df[w] <= RARE_DF} - names
            r = Renderer(rng, banned)
            cands = spec.make(r)
            rng.shuffle(cands)
            chosen = None
            for attempt in range(3):  # synonyms are re-drawn on each attempt
                for c in cands if attempt == 0 else spec.make(r):
                    if not (content_stems(c) & banned):
                        chosen = c
                        break
                if chosen:
                    break
            if chosen is None:
                self.dropped += 1
                continue
            answer = spec.answer(r) if callable(spec.answer) else spec.answer
            valid.append(Query(chosen, [t.id for t in spec.expected], spec.category, answer))
        # pick about 15 with a spread over categories
        want = {1: 3, 2: 4, 3: 3, 4: 5}
        total = rng.randint(14, 16)
        by_cat: dict[int, list[Query]] = {c: [q for q in valid if q.category == c] for c in want}
        for qs in by_cat.values():
            rng.shuffle(qs)
        picked: list[Query] = []
        for c, k in want.items():
            picked += by_cat[c][:k]
            by_cat[c] = by_cat[c][k:]
        rest = [q for c in want for q in by_cat[c]]
        rng.shuffle(rest)
        picked += rest[: max(0, total - len(picked))]
        picked = picked[:total]
        order = {id(q): i for i, q in enumerate(valid)}
        picked.sort(key=lambda q: order[id(q)])
        return picked


# --------------------------------------------------------------------------------------------
# File level
# --------------------------------------------------------------------------------------------


def generate(seed: int, subjects: int) -> tuple[list[dict[str, object]], dict[str, int]]:
    records: list[dict[str, object]] = []
    taken: set[str] = set()
    stats: Counter[str] = Counter()
    for i in range(subjects):
        subj = Subject(seed, i, taken)
        taken.add(subj.S)
        sid = f"p{i + 1:02d}-{subj.S.lower()}"
        turns, queries = subj.build()
        stats["events"] += len(turns)
        stats["dropped_queries"] += subj.dropped
        for t in turns:
            assert t.at is not None
            records.append(
                {
                    "type": "event",
                    "subject": sid,
                    "id": t.id,
                    "at": t.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "actor": t.speaker,
                    "text": t.text,
                }
            )
        for k, q in enumerate(queries, 1):
            records.append(
                {
                    "type": "query",
                    "subject": sid,
                    "id": f"q{k}",
                    "text": q.text,
                    "expected": q.expected,
                    "category": q.category,
                    "answer": q.answer,
                }
            )
    return records, dict(stats)


def validate(records: list[dict[str, object]]) -> dict[str, object]:
    """Checks ids, times and expected ids; returns counts."""
    ids: dict[str, set[str]] = {}
    last: dict[str, str] = {}
    turns_per: Counter[str] = Counter()
    cats: Counter[int] = Counter()
    problems: list[str] = []
    for rec in records:
        subj = str(rec["subject"])
        if rec["type"] == "event":
            rid = str(rec["id"])
            if rid in ids.setdefault(subj, set()):
                problems.append(f"duplicate id {subj} {rid}")
            ids[subj].add(rid)
            at = str(rec["at"])
            if subj in last and at <= last[subj]:
                problems.append(f"time not increasing {subj} {rid}")
            last[subj] = at
            turns_per[subj] += 1
        else:
            cats[int(rec["category"])] += 1  # type: ignore[arg-type]
            for e in rec["expected"]:  # type: ignore[union-attr]
                if e not in ids.get(subj, set()):
                    problems.append(f"missing expected {subj} {rec['id']} {e}")
    if problems:
        raise SystemExit("invalid set:\n" + "\n".join(problems[:20]))
    return {
        "subjects": len(ids),
        "events": sum(turns_per.values()),
        "turns_per_subject": [min(turns_per.values()), max(turns_per.values())],
        "queries": sum(cats.values()),
        "per_category": {str(c): cats[c] for c in sorted(cats)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--subjects", type=int, default=12)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    records, stats = generate(args.seed, args.subjects)
    summary = validate(records)
    summary.update(stats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(json.dumps({"out": str(args.out), **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
