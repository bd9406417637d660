# Deliberate twins, identical in every field the registry match compares (so a lookup for
# either of them is ambiguous and binds no one):
#   R000777 and R000778, R002345 and R002346, R004567 and R004568.
# Near twins, the same except the second given name ("Anna" alone is ambiguous, "Anna Maria"
# is not): R003210 and R003211.
# R000001 to R000005 are plain demo residents the demo command prints.
"""Write src/servicekonto/registry/data/residents.csv: invented residents of Kreis Cochem-Zell.

Every person is invented: given names and family names come from the lists below and are
combined at random, so no row describes a real person. Towns, postal codes and the
Verbandsgemeinden they belong to are facts; streets are the kind every village has. The seed is
fixed, so running this twice writes byte-identical files (tests check the shipped file is
current):

    .venv/bin/python tools/generate_residents.py [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from servicekonto.registry.csv_format import CSV_COLUMNS

REPOSITORY = Path(__file__).resolve().parents[1]
OUTPUT = REPOSITORY / "src" / "servicekonto" / "registry" / "data" / "residents.csv"
SEED = 20261121
TARGET = 5200
TWIN_PAIRS = (("R000777", "R000778"), ("R002345", "R002346"), ("R004567", "R004568"))
NEAR_TWIN_PAIRS = (("R003210", "R003211"),)
OLDEST, YOUNGEST = date(1930, 1, 1), date(2008, 12, 31)


@dataclass(frozen=True)
class Town:
    name: str
    postal_code: str
    municipality: str
    weight: int  # roughly the population, so Cochem gets more residents than Masburg
    on_the_mosel: bool


# Where a household lives: street, house number, town.
Home = tuple[str, str, Town]

TOWNS = (
    Town("Cochem", "56812", "vg-cochem", 50, True),
    Town("Treis-Karden", "56253", "vg-cochem", 22, True),
    Town("Ediger-Eller", "56814", "vg-cochem", 10, True),
    Town("Klotten", "56818", "vg-cochem", 12, True),
    Town("Ellenz-Poltersdorf", "56821", "vg-cochem", 9, True),
    Town("Senheim", "56820", "vg-cochem", 6, True),
    Town("Zell (Mosel)", "56856", "vg-zell", 40, True),
    Town("Bullay", "56859", "vg-zell", 16, True),
    Town("Alf", "56859", "vg-zell", 9, True),
    Town("Briedel", "56867", "vg-zell", 10, True),
    Town("Pünderich", "56862", "vg-zell", 8, True),
    Town("Ulmen", "56766", "vg-ulmen", 33, False),
    Town("Lutzerath", "56826", "vg-ulmen", 11, False),
    Town("Büchel", "56823", "vg-ulmen", 12, False),
    Town("Kaisersesch", "56759", "vg-kaisersesch", 30, False),
    Town("Hambuch", "56761", "vg-kaisersesch", 8, False),
    Town("Düngenheim", "56761", "vg-kaisersesch", 12, False),
    Town("Masburg", "56761", "vg-kaisersesch", 6, False),
)

COMMON_STREETS = (
    "Hauptstraße",
    "Kirchgasse",
    "Schulstraße",
    "Am Weinberg",
    "Im Wiesengrund",
    "Bergstraße",
    "Bahnhofstraße",
    "Lindenstraße",
    "Gartenstraße",
    "Mühlenweg",
    "Zum Sportplatz",
    "Auf der Höhe",
    "In der Au",
    "Burgstraße",
    "Raiffeisenstraße",
    "Brunnenstraße",
    "Talstraße",
    "Friedhofstraße",
    "Waldstraße",
    "Ringstraße",
    "Am Backes",
    "Pfarrgasse",
    "Kapellenweg",
    "Rosenweg",
    "Birkenweg",
    "Am Bach",
    "Neustraße",
    "Wiesenstraße",
    "Im Flürchen",
    "Auf dem Kamp",
    "Sankt-Martin-Straße",
    "Kreuzstraße",
)
MOSEL_STREETS = (
    "Moselstraße",
    "Moselweinstraße",
    "Am Moselufer",
    "Weinbergsweg",
    "Kelterhausgasse",
    "Winzerstraße",
)
EIFEL_STREETS = ("Eifelstraße", "Maarstraße", "Vulkanweg", "Hochwaldstraße", "Auf dem Heidchen")
# Long names test every form and letter that has to hold a street (>= 60 characters each).
LONG_STREETS = (
    "Straße der Winzergenossenschaft und der alten Moselweinbergsterrassen",
    "Weg zwischen dem alten Pfarrhaus und der ehemaligen Zehntscheune am Bach",
    "Oberer Weinbergspfad unterhalb der Kapelle zum heiligen Nikolaus am Hang",
)

FEMALE_NAMES = (
    "Anna", "Maria", "Elisabeth", "Katharina", "Sophie", "Lena", "Julia", "Laura", "Hannah",
    "Lea", "Sarah", "Johanna", "Charlotte", "Emma", "Mia", "Clara", "Greta", "Paula", "Luise",
    "Margarethe", "Gertrud", "Hildegard", "Ursula", "Renate", "Brigitte", "Monika", "Sabine",
    "Petra", "Andrea", "Claudia", "Susanne", "Stefanie", "Nicole", "Birgit", "Käthe", "Dörte",
    "Annemarie", "Agnes", "Theresia", "Magdalena", "Rosalie", "Irmgard", "Hélène", "Zoë",
    "Martina", "Christiane", "Barbara", "Veronika", "Franziska", "Mathilde",
)  # fmt: skip
MALE_NAMES = (
    "Peter", "Hans", "Karl", "Josef", "Johannes", "Michael", "Thomas", "Andreas", "Stefan",
    "Markus", "Christian", "Matthias", "Frank", "Jürgen", "Jörg", "Günter", "Björn", "Sören",
    "Uwe", "Rainer", "Wolfgang", "Heinz", "Werner", "Helmut", "Manfred", "Walter", "Dieter",
    "Klaus", "Bernd", "Lukas", "Jonas", "Leon", "Finn", "Paul", "Felix", "Maximilian", "Elias",
    "Noah", "Ben", "Jakob", "Tobias", "Florian", "Sebastian", "Alexander", "Benedikt", "Mathis",
    "André", "René", "Wilhelm", "Friedrich",
)  # fmt: skip
SURNAMES = (
    "Müller", "Schmitz", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
    "Schmitt", "Werner", "Krause", "Lehmann", "Köhler", "Jäger", "Günther", "Böhm", "Weiß",
    "Groß", "Strauß", "Nußbaum", "Preuß", "Kühn", "Thielen", "Hürter", "Theisen", "Pauly",
    "Lenz", "Kreuter", "Steffens", "Gietzen", "Brost", "Klasen", "Reuter", "Simon", "Franzen",
    "Mertes", "Kaltenborn", "Dötsch", "Ternes", "Hähn", "Löwenstein", "Schüller", "Rübsamen",
    "Barzen", "Bleser", "Esser", "Hens", "Kirst", "Lohner", "Michels", "Nick", "Oster",
    "Pies", "Rausch", "Schüttler", "Thönnes", "Hilgers", "Vogt", "Weinand", "Zenz",
    "Ackermann", "Gräf", "Wendling", "Fuß", "Brück", "Scheid", "Dietz", "Kohns", "Sauerborn",
)  # fmt: skip
NOBILITY_PARTICLES = ("von", "von der", "zu", "von und zu")
NOBILITY_BASES = ("Falkenried", "Moselbach", "Rabenhorst", "Lindenfels", "Weilerstein")
GERMAN_BIRTH_PLACES = (
    "Cochem", "Zell (Mosel)", "Koblenz", "Mayen", "Trier", "Wittlich", "Bernkastel-Kues",
    "Andernach", "Neuwied", "Boppard", "Simmern/Hunsrück", "Daun", "Köln", "Bonn", "Mainz",
    "Frankfurt am Main", "Saarbrücken", "Kaiserslautern", "Düsseldorf", "Essen", "Berlin",
    "Hamburg", "München", "Stuttgart", "Leipzig", "Dresden", "Münster", "Würzburg",
)  # fmt: skip
ABROAD_BIRTH_PLACES = (
    "Luxemburg", "Wien", "Zürich", "Straßburg", "Lüttich", "Maastricht", "Kraków", "Wrocław",
    "Porto", "Neapel", "Sarajevo", "İzmir",
)  # fmt: skip
LOCAL_BIRTH_PLACES = ("Cochem", "Zell (Mosel)", "Koblenz", "Mayen", "Wittlich")


@dataclass(frozen=True)
class Origin:
    """Names of non-Latin origin as German offices transliterate them, with birth places."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]  # the male form where the language has two
    birth_places: tuple[str, ...]
    gendered_surnames: bool = False

    def surname_form(self, name: str, female: bool) -> str:
        """Russian surnames have a female form: Iwanow, Iwanowa."""
        if not self.gendered_surnames or not name:
            return name
        male = name.removesuffix("a")
        return male + "a" if female else male


ORIGINS = (
    Origin(
        ("Jekaterina", "Olga", "Swetlana", "Natalja", "Tatjana"),
        ("Dmitri", "Sergej", "Alexej", "Wladimir", "Juri"),
        ("Iwanow", "Smirnow", "Kusnezow", "Popow"),
        ("Omsk", "Nowosibirsk", "Almaty", "Karaganda"),
        gendered_surnames=True,
    ),
    Origin(
        ("Olena", "Oksana", "Iryna"),
        ("Oleksandr", "Mykola", "Taras"),
        ("Schewtschenko", "Kowalenko", "Bondarenko"),
        ("Kyjiw", "Charkiw", "Lwiw"),
    ),
    Origin(
        ("Eleni", "Dimitra", "Georgia"),
        ("Dimitrios", "Georgios", "Konstantinos"),
        ("Papadopoulos", "Georgiou", "Oikonomou"),
        ("Thessaloniki", "Athen"),
    ),
    Origin(
        ("Fatima", "Amina", "Layla", "Rania"),
        ("Mohammed", "Ahmad", "Khaled", "Omar"),
        ("Al-Hassan", "Haddad", "Al-Khatib", "Nasser"),
        ("Damaskus", "Aleppo", "Homs"),
    ),
    Origin(
        ("Mei", "Xiulan", "Yan"),
        ("Wei", "Jun", "Hao"),
        ("Zhang", "Wang", "Chen"),
        ("Shanghai", "Chengdu"),
    ),
)


@dataclass(frozen=True)
class Person:
    resident_id: str
    female: bool
    academic_title: str
    given_names: str
    family_name: str
    birth_name: str
    birth_date: date
    birth_place: str
    street: str
    house_number: str
    town: Town

    def row(self) -> tuple[str, ...]:
        return (
            self.resident_id,
            self.academic_title,
            self.given_names,
            self.family_name,
            self.birth_name,
            self.birth_date.isoformat(),
            self.birth_place,
            self.street,
            self.house_number,
            self.town.postal_code,
            self.town.name,
            self.town.municipality,
        )


def _demo(number: int, name: str, born: date, places: str) -> Person:
    """A demo resident from "given family" and "birth place|street|house number|town"."""
    given, family = name.split()
    birth_place, street, house_number, town_name = places.split("|")
    town = next(town for town in TOWNS if town.name == town_name)
    female = given in FEMALE_NAMES
    return Person(
        f"R{number:06d}", female, "", given, family, "", born, birth_place, street, house_number,
        town,
    )  # fmt: skip


# Plain names and addresses anyone can type: no umlaut, no suffix, no second given name.
DEMO_RESIDENTS = (
    _demo(1, "Lena Becker", date(1988, 4, 12), "Koblenz|Moselstraße|14|Cochem"),
    _demo(2, "Jonas Hoffmann", date(1975, 9, 30), "Trier|Bahnhofstraße|7|Bullay"),
    _demo(3, "Sophie Wagner", date(1992, 1, 23), "Mayen|Schulstraße|8|Ulmen"),
    _demo(4, "Markus Klein", date(1969, 11, 5), "Andernach|Kirchgasse|2|Kaisersesch"),
    _demo(5, "Julia Schneider", date(2001, 6, 17), "Koblenz|Am Weinberg|21|Treis-Karden"),
)


class Generator:
    """Households of invented people, drawn from one seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.streets = {town.name: self._streets_of(town) for town in TOWNS}

    def _streets_of(self, town: Town) -> list[str]:
        local = MOSEL_STREETS if town.on_the_mosel else EIFEL_STREETS
        count = min(len(COMMON_STREETS), 6 + town.weight // 2)
        return ["Hauptstraße", *self.rng.sample(COMMON_STREETS[1:], count - 1), *local]

    def date_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def house_number(self) -> str:
        number = min(self.rng.randint(1, 40), self.rng.randint(1, 120))
        roll = self.rng.random()
        if roll < 0.01:
            return f"{number}-{number + 2}"
        if roll < 0.12:
            return f"{number}{self.rng.choice('abcd')}"
        return str(number)

    def address(self) -> Home:
        town = self.rng.choices(TOWNS, weights=[town.weight for town in TOWNS])[0]
        street = self.rng.choice(self.streets[town.name])
        if self.rng.random() < 0.01:
            street = self.rng.choice(LONG_STREETS)
        return street, self.house_number(), town

    def given_names(self, female: bool, origin: Origin | None) -> str:
        if origin is not None:
            return self.rng.choice(origin.female if female else origin.male)
        names = FEMALE_NAMES if female else MALE_NAMES
        first, second, third = self.rng.sample(names, 3)
        roll = self.rng.random()
        if roll < 0.05:
            return f"{first}-{second}"
        if roll < 0.22:
            return f"{first} {second}"
        if roll < 0.25:
            return f"{first} {second} {third}"
        return first

    def surname(self, origin: Origin | None) -> str:
        if origin is not None:
            return self.rng.choice(origin.surnames)
        roll = self.rng.random()
        if roll < 0.015:
            return f"{self.rng.choice(NOBILITY_PARTICLES)} {self.rng.choice(NOBILITY_BASES)}"
        return self.rng.choice(SURNAMES)

    def title(self, birth_date: date) -> str:
        if birth_date.year > 1996:
            return ""
        roll = self.rng.random()
        if roll < 0.007:
            return "Prof. Dr."
        if roll < 0.012:
            return "Dr. med."
        return "Dr." if roll < 0.04 else ""

    def birth_place(self, origin: Origin | None) -> str:
        if origin is not None:
            return self.rng.choice(origin.birth_places)
        if self.rng.random() < 0.06:
            return self.rng.choice(ABROAD_BIRTH_PLACES)
        if self.rng.random() < 0.5:
            return self.rng.choice(LOCAL_BIRTH_PLACES)
        return self.rng.choice(GERMAN_BIRTH_PLACES)

    def household(self) -> list[Person]:
        home = self.address()
        origin = self.rng.choice(ORIGINS) if self.rng.random() < 0.05 else None
        family_name = self.surname(origin)
        first = self.adult(origin, family_name, self.rng.random() < 0.5, home)
        members = [first]
        if self.rng.random() < 0.65:
            members.append(self.spouse(first, origin))
        if first.birth_date.year >= 1955 and self.rng.random() < 0.55:
            members.extend(self.children(first, origin))
        if origin is None:
            return members
        return [
            replace(
                member,
                family_name=origin.surname_form(member.family_name, member.female),
                birth_name=origin.surname_form(member.birth_name, member.female),
            )
            for member in members
        ]

    def adult(self, origin: Origin | None, family_name: str, female: bool, home: Home) -> Person:
        born = self.date_between(OLDEST, date(1990, 12, 31))
        return Person(
            "",
            female,
            self.title(born),
            self.given_names(female, origin),
            family_name,
            "",
            born,
            self.birth_place(origin),
            *home,
        )

    def spouse(self, partner: Person, origin: Origin | None) -> Person:
        """A partner of similar age: takes the name, keeps their own, or joins both."""
        offset = timedelta(days=self.rng.randint(-2500, 2500))
        born = min(max(partner.birth_date + offset, OLDEST), date(1990, 12, 31))
        female = not partner.female if self.rng.random() < 0.97 else partner.female
        own_name = self.surname(origin)
        family_name, birth_name = self._married_names(partner.family_name, own_name, origin)
        return replace(
            partner,
            female=female,
            academic_title=self.title(born),
            given_names=self.given_names(female, origin),
            family_name=family_name,
            birth_name=birth_name,
            birth_date=born,
            birth_place=self.birth_place(origin),
        )

    def _married_names(self, shared: str, own: str, origin: Origin | None) -> tuple[str, str]:
        if own == shared:
            return shared, ""
        roll = self.rng.random()
        if roll < 0.6:
            return shared, own  # took the partner's name, the registry keeps the birth name
        if roll < 0.75 and origin is None and " " not in shared + own:
            return f"{own}-{shared}", own  # a double name with hyphen
        return own, ""  # kept their own name

    def children(self, parent: Person, origin: Origin | None) -> list[Person]:
        children = []
        for _ in range(self.rng.randint(1, 3)):
            age_of_parent = timedelta(days=self.rng.randint(20 * 365, 40 * 365))
            born = parent.birth_date + age_of_parent
            if born > YOUNGEST:
                continue
            female = self.rng.random() < 0.5
            given = self.given_names(female, None if self.rng.random() < 0.5 else origin)
            children.append(
                replace(
                    parent,
                    female=female,
                    academic_title="",
                    given_names=given,
                    birth_name="",
                    birth_date=born,
                    birth_place=self.rng.choice(LOCAL_BIRTH_PLACES),
                )
            )
        return children


def residents(seed: int = SEED, target: int = TARGET) -> list[Person]:
    """The demo residents, then households until `target`, then the twins written in."""
    generator = Generator(random.Random(seed))  # noqa: S311 - reproducible test data, not secrets
    people = list(DEMO_RESIDENTS)
    while len(people) < target:
        for member in generator.household():
            people.append(replace(member, resident_id=f"R{len(people) + 1:06d}"))
    return _with_twins(people[:target], generator.rng)


def _with_twins(people: list[Person], rng: random.Random) -> list[Person]:
    """Overwrite the second of each pair with a copy of the first (only the id differs)."""
    index = {person.resident_id: number for number, person in enumerate(people)}
    for first, second in TWIN_PAIRS:
        people[index[second]] = replace(people[index[first]], resident_id=second)
    for first, second in NEAR_TWIN_PAIRS:
        original = people[index[first]]
        names = FEMALE_NAMES if original.female else MALE_NAMES
        lead = original.given_names.split()[0].split("-")[0]
        middle, other = rng.sample([name for name in names if name != lead], 2)
        people[index[first]] = replace(original, given_names=f"{lead} {middle}")
        people[index[second]] = replace(original, resident_id=second, given_names=f"{lead} {other}")
    return people


def render(people: Sequence[Person]) -> str:
    """RFC 4180 CSV: CRLF line ends, quotes only where a value needs them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(person.row() for person in people)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    output: Path = parser.parse_args().output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(render(residents()).encode("utf-8"))


if __name__ == "__main__":
    main()
