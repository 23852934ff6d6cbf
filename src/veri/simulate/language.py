"""Natural-language negotiation threads with variety: greetings, prices, counter-offers, dates,
deliverables, preferences, life events, small talk, references to earlier sessions. Several
phrasings per intent, so that tuning a model to one template does not pay."""

from __future__ import annotations

import random
from datetime import date

__all__ = ["Phrasebook", "money", "nice_date"]


def money(cents: int) -> str:
    dollars = cents // 100
    return f"{dollars:,} dollars" if dollars % 1000 else f"{dollars // 1000}k"


def nice_date(day: date) -> str:
    return f"{day.strftime('%B')} {day.day}"


DELIVERABLE = {
    "youtube": ["a dedicated YouTube video", "a long YouTube video", "a YouTube integration"],
    "tiktok": ["two TikToks", "a TikTok series", "three short TikToks"],
    "instagram": ["a Reel and two stories", "an Instagram carousel", "a Reel"],
}
PRODUCTS = {
    "fitness": ["resistance bands", "smart jump rope", "protein bars"],
    "beauty": ["vitamin C serum", "sunscreen stick", "night cream"],
    "tech": ["wireless earbuds", "desk lamp", "mechanical keyboard"],
    "food": ["meal kits", "hot sauce line", "cold brew"],
    "travel": ["carry-on suitcase", "travel eSIM", "packing cubes"],
    "gaming": ["controller", "gaming chair", "headset"],
    "fashion": ["linen shirts", "sneakers", "denim line"],
    "finance": ["budgeting app", "savings account", "investing app"],
    "parenting": ["baby carrier", "stroller", "kids' snacks"],
    "wellness": ["meditation app", "sleep mask", "herbal tea"],
}


PLATFORM_NAMES = {"youtube": "YouTube", "tiktok": "TikTok", "instagram": "Instagram"}


def _posts(count: int) -> str:
    return f"{count} post" if count == 1 else f"{count} posts"


class Phrasebook:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def greeting(self, creator_first: str, manager_first: str, brand: str, niche: str, product: str) -> str:
        return self.pick(
            f"Hi {creator_first}, this is {manager_first} from {brand}. We loved your {niche} content and want to talk about our {product}.",
            f"Hey {creator_first}! {manager_first} here, partnerships at {brand}. Your {niche} videos caught our eye, would you try our {product}?",
            f"Hello {creator_first}, I'm {manager_first} with {brand}. We're launching {product} and your {niche} audience feels like a great match.",
        )

    def rhythm(self, manager_first: str, platform: str, per_week: float) -> str:
        count = max(1, round(per_week))
        name = PLATFORM_NAMES.get(platform, platform)
        return self.pick(
            f"Thanks {manager_first}! I mostly post on {name}, about {_posts(count)} a week.",
            f"Hi {manager_first}, nice to meet you. {name} is my main channel, I put out roughly {_posts(count)} every week.",
            f"Appreciate it! Most of my stuff goes on {name}, around {count} uploads a week.",
        )

    def budget(self, amount: str, deliverable: str) -> str:
        return self.pick(
            f"Our budget for {deliverable} is {amount}.",
            f"We have {amount} set aside for {deliverable}.",
            f"For {deliverable} we were thinking {amount}.",
        )

    def rate(self, amount: str, deliverable: str) -> str:
        return self.pick(
            f"I usually charge {amount} for {deliverable}.",
            f"My rate for {deliverable} is {amount}.",
            f"Normally {deliverable} runs {amount} with me.",
        )

    def counter(self, amount: str) -> str:
        return self.pick(
            f"Could you meet us at {amount}?",
            f"What if we said {amount}? That's the best we can do this quarter.",
            f"We could stretch to {amount}.",
        )

    def accept(self, amount: str) -> str:
        return self.pick(f"Deal, {amount} works for me.", f"Okay, {amount} it is.", f"Sounds fair, let's do {amount}.")

    def decline(self) -> str:
        return self.pick(
            "That's too low for me, I'll have to pass this time.",
            "Sorry, I can't go that low. Maybe next campaign!",
            "I'll pass for now, the numbers don't work for me.",
        )

    def deadline(self, day: date) -> str:
        return self.pick(
            f"Can you deliver by {nice_date(day)}?",
            f"We need it live by {nice_date(day)}, is that doable?",
            f"Our launch is {nice_date(day)}, could the video be ready by then?",
        )

    def confirm_deadline(self, day: date, draft: date) -> str:
        return self.pick(
            f"{nice_date(day)} works. I will send a draft on {nice_date(draft)}.",
            f"Yes, {nice_date(day)} is fine, you'll get a draft by {nice_date(draft)}.",
            f"I can do {nice_date(day)}. Expect a first cut on {nice_date(draft)}.",
        )

    def preference(self) -> tuple[str, str]:
        options = [
            ("posts on Sundays", "I prefer to post on Sundays, that's when my audience is most active."),
            (
                "no unboxing videos",
                "Just so you know, I don't do unboxing videos, I like to show products in real use.",
            ),
            ("needs creative freedom", "I work best when I can script it in my own voice."),
            ("likes affiliate codes", "I like having an affiliate code, my audience uses them a lot."),
        ]
        return self.rng.choice(options)

    def small_talk(self) -> str:
        return self.pick(
            "Also, sorry for the slow reply, my dog had a vet appointment this morning.",
            "It's been raining all week here, perfect weather for editing.",
            "I just got back from a family trip, so I'm catching up on messages.",
            "Fun fact, my cat walked across the keyboard while I was typing this.",
        )

    def life_event(self, kind: str, detail: str, when: date) -> str:
        if kind == "moved":
            return self.pick(
                f"Heads up, I'm moving to {detail} in {when.strftime('%B')}, so filming might pause for a week or two.",
                f"Quick update: I'm relocating to {detail} around {nice_date(when)}.",
            )
        if kind == "niche_change":
            return self.pick(
                f"I'm shifting my channel more toward {detail} content from {when.strftime('%B')} on.",
                f"Starting in {when.strftime('%B')} I'll focus more on {detail}.",
            )
        if kind == "hiatus":
            return self.pick(
                f"I'm taking a break from posting from {nice_date(when)} for a couple of weeks.",
                f"I'll be offline for a bit starting {nice_date(when)}, need some rest.",
            )
        return self.pick(
            f"Just so you know, my rates go up {detail} percent from {when.strftime('%B')}.",
            f"From {nice_date(when)} I'm raising my prices by {detail} percent.",
        )

    def draft_uploaded(self, place: str) -> str:
        return self.pick(
            f"Draft is uploaded. I filmed it in my {place}.",
            f"The draft is up in the shared folder, shot it at my {place}.",
            f"Sent over the draft, we recorded it in the {place}.",
        )

    def disclosure(self) -> str:
        return self.pick(
            "Looks great. Legal asks you to add #ad in the first line of the caption.",
            "Love it! Please tag it as a paid partnership and add #ad.",
            "Approved, just remember the #ad disclosure at the start.",
        )

    def published(self, day: date) -> str:
        return self.pick(
            f"Added #ad. Publishing on {nice_date(day)}.",
            f"Done, it goes live {nice_date(day)}.",
            f"All set, scheduled for {nice_date(day)}.",
        )

    def late(self, day: date) -> str:
        return self.pick(
            f"So sorry, I'm running behind, it will be up on {nice_date(day)} instead.",
            f"Small delay on my side, new publish date is {nice_date(day)}.",
        )

    def results(self, sales: int, code: bool) -> str:
        with_code = " with your code" if code else ""
        return self.pick(
            f"The video drove {sales} sales{with_code}.",
            f"Update: {sales} orders came in{with_code} so far.",
            f"Results are in, {sales} sales{with_code}.",
        )

    def audience(self, share: int, gender: str, age: str) -> str:
        return self.pick(
            f"Amazing! My audience is mostly {gender}, {age}, about {share} percent.",
            f"Great to hear. Around {share} percent of my followers are {gender} aged {age}, so it fits.",
        )

    def reference(self, month: str, topic: str) -> str:
        return self.pick(
            f"Like we discussed back in {month}, {topic}.",
            f"As I mentioned in {month}, {topic}.",
            f"Following up on our chat in {month}: {topic}.",
        )

    def rebook(self, videos: int, amount: str) -> str:
        return self.pick(
            f"We want to book you again, {videos} videos, {amount} in total.",
            f"Would you do {videos} more videos for {amount} overall?",
        )
