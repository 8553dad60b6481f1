#!/usr/bin/env python3
"""Generates the synthetic example datasets: store_sales.csv and support_tickets.csv.

Both are made up, with a known structure, so the examples show operations that genuinely
help: lags and rolling windows per store for the sales, text statistics for the tickets.
The output is the same on every run and every machine (a seeded random.Random, Python's
standard library only, values rounded before they are written).

Usage:  python3 examples/data/generate.py [DIR]   (writes into DIR, by default next to this
        script; tests/examples.rs regenerates into a temporary DIR and compares)
"""

import csv
import sys
import datetime
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------------
# store_sales.csv — daily unit sales of ten stores over two years; predict tomorrow's sales.

# Weekday profiles (Monday first): city-centre stores sell on working days, mall stores at
# the weekend. A store's sales a week before tomorrow carry its profile.
CENTRE = [1.15, 1.12, 1.10, 1.12, 1.18, 0.78, 0.55]
MALL = [0.82, 0.80, 0.84, 0.90, 1.05, 1.45, 1.30]


def store_sales(rng):
    """The header and rows of store_sales.csv."""
    start = datetime.date(2023, 1, 2)  # a Monday
    days = 731
    stores = []
    for i in range(10):
        stores.append(
            {
                "store": f"store-{i + 1:02d}",
                "region": ["north", "south", "coast"][i % 3],
                "profile": CENTRE if i % 2 == 0 else MALL,
                "log_level": math.log(rng.uniform(120, 600)),
            }
        )
    regional_temp = {"north": 9.0, "south": 15.0, "coast": 12.0}

    # Promotions are planned in runs of 2-4 days, about 15% of a store's days.
    for s in stores:
        promo = [0] * (days + 1)
        d = 0
        while d < days + 1:
            if rng.random() < 0.05:
                for k in range(rng.randint(2, 4)):
                    if d + k < days + 1:
                        promo[d + k] = 1
                d += 5
            else:
                d += 1
        s["promo"] = promo

    # Each store's level drifts (a slow random walk), so its recent history says more than
    # its name; promotions lift sales by ~35% and are followed by a dip while shoppers use
    # up what they stocked.
    for s in stores:
        sales = []
        temps = []
        level = s["log_level"]
        for d in range(days + 1):
            date = start + datetime.timedelta(days=d)
            level += rng.gauss(0.0, 0.012)
            season = 1.0 + 0.12 * math.cos(2 * math.pi * (date.timetuple().tm_yday - 350) / 365.25)
            temp = regional_temp[s["region"]] - 8.0 * math.cos(
                2 * math.pi * (date.timetuple().tm_yday - 20) / 365.25
            ) + rng.gauss(0.0, 2.5)
            effect = math.exp(level) * s["profile"][date.weekday()] * season
            if s["promo"][d]:
                effect *= 1.35
            elif d > 0 and s["promo"][d - 1]:
                effect *= 0.82
            effect *= 1.0 - 0.006 * max(0.0, temp - 22.0) ** 2 / 10.0
            effect *= math.exp(rng.gauss(0.0, 0.07))
            sales.append(max(0, round(effect)))
            temps.append(round(temp, 1))
        s["sales"] = sales
        s["temps"] = temps

    rows = []
    for d in range(days):
        date = start + datetime.timedelta(days=d)
        for s in stores:
            rows.append(
                [
                    date.isoformat(),
                    s["store"],
                    s["region"],
                    s["promo"][d],
                    s["promo"][d + 1],
                    s["temps"][d],
                    s["sales"][d],
                    s["sales"][d + 1],
                ]
            )
    header = [
        "date",
        "store",
        "region",
        "promo",
        "promo_tomorrow",
        "temperature",
        "sales",
        "sales_tomorrow",
    ]
    return header, rows


# --------------------------------------------------------------------------------------------
# support_tickets.csv — support requests of a software company; predict which get escalated.

ISSUES = {
    # issue: (escalation effect, subjects, sentences)
    "outage": (
        1.3,
        ["Service down", "Cannot reach the dashboard", "API not responding"],
        [
            "The dashboard has been unreachable since this morning.",
            "Our API calls time out with error 503.",
            "Nothing loads for any of our users.",
        ],
    ),
    "billing": (
        0.6,
        ["Invoice question", "Charged twice", "Billing problem"],
        [
            "We were charged twice for invoice 4471.",
            "The amount on our last invoice is higher than our plan.",
            "My card was billed after I downgraded.",
        ],
    ),
    "bug": (
        0.3,
        ["Export fails", "Bug in reports", "Error when saving"],
        [
            "Exporting a report fails with error 500.",
            "Saving a project shows an error and loses my changes.",
            "Charts show wrong totals since the last update.",
        ],
    ),
    "login": (
        0.0,
        ["Cannot log in", "Password reset", "Locked out"],
        [
            "I cannot log in with my usual password.",
            "The password reset email never arrives.",
            "My account is locked after two attempts.",
        ],
    ),
    "how-to": (
        -0.9,
        ["Question", "How do I share a report", "Quick question about exports"],
        [
            "How do I share a report with a colleague?",
            "Is there a way to schedule exports every week?",
            "Where can I change the time zone of my account?",
        ],
    ),
    "feature": (
        -1.1,
        ["Feature request", "Suggestion", "Idea for the editor"],
        [
            "It would be great to have a dark mode.",
            "Could you add an option to export to Excel?",
            "We would love keyboard shortcuts in the editor.",
        ],
    ),
}
GREETINGS = ["Hello,", "Hi team,", "Hi,", "Good morning,", "Dear support,", ""]
DETAILS = [
    "We use the {plan} plan with {users} users.",
    "This happens in Firefox and in Chrome.",
    "I attached a screenshot.",
    "Our account was created {age} days ago.",
    "It worked fine last week.",
    "Steps: open the project, click export, wait.",
]
CALM_ENDINGS = ["Thanks!", "Thank you.", "Best regards,", "Cheers,", "Thanks in advance."]
ANGRY = [
    "This is the {nth} time I write about this.",
    "We are losing customers because of this.",
    "I want a refund for this month.",
    "If this is not fixed today we will cancel our subscription.",
    "Nobody has answered my last {n} emails.",
    "Please escalate this to a manager.",
    "We need this fixed ASAP.",
]
SHOUTS = ["NOT WORKING", "URGENT", "STILL BROKEN", "UNACCEPTABLE", "ASAP"]
NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena"]


def shout(sentence, rng):
    """Upper-cases a few words of the sentence."""
    words = sentence.split(" ")
    for k in range(len(words)):
        if rng.random() < 0.35:
            words[k] = words[k].upper()
    return " ".join(words)


def support_tickets(rng):
    """The header and rows of support_tickets.csv."""
    rows = []
    issues = list(ISSUES)
    for ticket in range(1, 1801):
        issue = rng.choice(issues)
        effect, subjects, sentences = ISSUES[issue]
        plan = rng.choices(["free", "pro", "enterprise"], weights=[5, 4, 2])[0]
        channel = rng.choices(["email", "chat", "web-form"], weights=[5, 3, 2])[0]
        age = int(rng.expovariate(1 / 400.0)) + 1
        previous = min(int(rng.expovariate(1 / 2.0)), 25)
        # How frustrated the customer is: not a column, it shows only in how they write.
        anger = rng.random() ** 1.6  # skewed towards calm

        parts = [rng.choice(GREETINGS)]
        chosen = rng.sample(sentences, rng.randint(1, 2))
        parts.extend(chosen)
        for _ in range(rng.randint(0, 2)):
            parts.append(
                rng.choice(DETAILS).format(plan=plan, users=rng.randint(2, 400), age=age)
            )
        for _ in range(int(anger * 4.5)):
            parts.append(
                rng.choice(ANGRY).format(nth=["second", "third", "fourth"][rng.randint(0, 2)], n=rng.randint(2, 6))
            )
        if anger > 0.55:
            parts = [shout(p, rng) if rng.random() < anger else p for p in parts]
        if anger > 0.45:
            parts.append(rng.choice(SHOUTS) + "!" * rng.randint(1, 1 + int(anger * 4)))
        parts.append(rng.choice(CALM_ENDINGS) if anger < 0.6 else "")
        parts.append(rng.choice(NAMES))
        message = " ".join(p for p in parts if p)

        subject = rng.choice(subjects)
        if anger > 0.7:
            subject = subject.upper() + "!!"
        elif anger > 0.5:
            subject += "!"
        if previous > 0 and rng.random() < 0.3:
            subject = "Re: " + subject

        logit = (
            -2.3
            + 3.2 * anger
            + effect
            + {"free": -0.6, "pro": 0.0, "enterprise": 0.9}[plan]
            + 0.12 * previous
            + {"email": 0.0, "chat": -0.2, "web-form": 0.1}[channel]
        )
        escalated = 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0
        rows.append([ticket, channel, plan, age, previous, subject, message, escalated])
    header = [
        "ticket_id",
        "channel",
        "plan",
        "account_age_days",
        "previous_tickets",
        "subject",
        "message",
        "escalated",
    ]
    return header, rows


def write(path, header, rows):
    """Writes one CSV file with Unix line endings."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    write(out / "store_sales.csv", *store_sales(random.Random(20230102)))
    write(out / "support_tickets.csv", *support_tickets(random.Random(1801)))


if __name__ == "__main__":
    main()
