"""Talk-off speech corpus: ordinary sentences in six languages, spoken by espeak-ng.

A DTMF receiver must not report digits in speech ("talk-off"). This module builds a corpus
of synthetic speech to measure that: paragraphs of everyday text in English, Russian,
German, Polish, Ukrainian and French, each spoken by several espeak-ng voice variants at
several speeds and pitches, resampled by sox to 8 kHz mono 16-bit, each utterance scaled to
a speech level drawn from -25..-10 dBm0 (active speech level, as on a telephone line).

Each utterance is cached under ``$EDGEPBX_TALKOFF_CACHE`` (default
``/tmp/edgepbx-talkoff``) in a file named by the SHA-256 of everything that determines it
(text, voice, speed, pitch, level, the espeak-ng and sox versions and this module's format
version), so a changed recipe or tool rebuilds it and a fresh machine regenerates it.
``corpus(minutes)`` returns ``(pcm, seconds)``: utterances joined by 300 ms of silence,
as ``array('h')``. ``tools_missing()`` names a missing tool, or "".

Run ``python -m tests.native.talkoff [minutes]`` to build (or find) the corpus and print
its path.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import math
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array

FORMAT_VERSION = 1
RATE = 8000
DBM0_RMS = 32768 * 10 ** (-3.14 / 20) / math.sqrt(2)  # RMS of a 0 dBm0 sine

TEXTS: dict[str, list[str]] = {
    "en": [
        "Good morning, thank you for calling. All of our agents are busy right now, "
        "so please stay on the line and someone will be with you shortly.",
        "I was wondering whether the delivery could arrive on Thursday afternoon instead, "
        "because nobody will be at the office before lunch.",
        "The weather has been terrible all week, and the trains were late again this "
        "morning, so I only got to work at half past ten.",
        "Could you please send me the invoice by email? I think the address we have on "
        "file is the old one, from before we moved.",
        "My daughter starts school in September, and we still have to buy her shoes, a "
        "new bag and about a hundred pencils.",
        "We looked at three different flats last weekend, but the one near the park was "
        "far too expensive for the two of us.",
        "Yes, I can hear you now. The line was cutting out a moment ago, but it seems to "
        "be much better since you moved to the window.",
        "Let me check that for you. One moment please, the system is a little slow "
        "today, and I need to find your order first.",
    ],
    "ru": [
        "Добрый день, спасибо за звонок. Все операторы сейчас заняты, пожалуйста, "
        "оставайтесь на линии, и мы обязательно вам ответим.",
        "Я хотел бы узнать, можно ли перенести доставку на четверг, потому что утром в "
        "офисе никого не будет.",
        "Всю неделю шёл дождь, а сегодня утром электричка опять опоздала, так что я "
        "пришёл на работу только к одиннадцати.",
        "Пришлите, пожалуйста, счёт на электронную почту, кажется, у вас записан старый "
        "адрес, ещё до нашего переезда.",
        "Моя дочь в сентябре идёт в школу, а мы до сих пор не купили ей ни туфли, ни "
        "рюкзак, ни тетради.",
        "В выходные мы посмотрели три квартиры, но та, что возле парка, оказалась для "
        "нас слишком дорогой.",
        "Да, теперь я вас хорошо слышу. Минуту назад связь прерывалась, но сейчас "
        "стало гораздо лучше.",
        "Сейчас я всё проверю. Подождите минутку, система сегодня немного тормозит, "
        "мне нужно найти ваш заказ.",
    ],
    "de": [
        "Guten Tag und vielen Dank für Ihren Anruf. Im Moment sind alle Mitarbeiter im "
        "Gespräch, bitte bleiben Sie in der Leitung.",
        "Ich wollte fragen, ob die Lieferung auch am Donnerstagnachmittag kommen kann, "
        "weil vormittags niemand im Büro ist.",
        "Die ganze Woche hat es geregnet, und heute Morgen hatte der Zug schon wieder "
        "Verspätung, deshalb war ich erst um halb elf da.",
        "Könnten Sie mir die Rechnung bitte per E-Mail schicken? Ich glaube, Sie haben "
        "noch unsere alte Adresse gespeichert.",
        "Unsere Tochter kommt im September in die Schule, und wir müssen noch Schuhe, "
        "einen Ranzen und viele Stifte kaufen.",
        "Am Wochenende haben wir drei Wohnungen angesehen, aber die am Park war für uns "
        "beide viel zu teuer.",
    ],
    "pl": [
        "Dzień dobry, dziękujemy za telefon. Wszyscy konsultanci są teraz zajęci, "
        "prosimy pozostać na linii.",
        "Chciałem zapytać, czy dostawa mogłaby przyjść w czwartek po południu, bo rano "
        "nikogo nie będzie w biurze.",
        "Przez cały tydzień padał deszcz, a dzisiaj rano pociąg znowu się spóźnił, więc "
        "byłem w pracy dopiero o wpół do jedenastej.",
        "Proszę przesłać fakturę mailem. Wydaje mi się, że mają państwo jeszcze nasz "
        "stary adres sprzed przeprowadzki.",
        "Córka we wrześniu idzie do szkoły, a my wciąż musimy kupić buty, plecak i "
        "mnóstwo kredek.",
        "W weekend oglądaliśmy trzy mieszkania, ale to przy parku było dla nas zdecydowanie "
        "za drogie.",
    ],
    "uk": [
        "Добрий день, дякуємо за дзвінок. Усі оператори зараз зайняті, будь ласка, "
        "залишайтеся на лінії.",
        "Я хотів запитати, чи можна перенести доставку на четвер після обіду, бо зранку "
        "в офісі нікого не буде.",
        "Цілий тиждень ішов дощ, а сьогодні вранці потяг знову запізнився, тож я прийшов "
        "на роботу лише о пів на одинадцяту.",
        "Надішліть, будь ласка, рахунок електронною поштою, здається, у вас записана "
        "наша стара адреса.",
        "Донька у вересні йде до школи, а ми ще досі не купили їй ні черевики, ні "
        "рюкзак, ні зошити.",
        "На вихідних ми подивилися три квартири, але та, що біля парку, була для нас "
        "надто дорогою.",
    ],
    "fr": [
        "Bonjour et merci de votre appel. Tous nos conseillers sont actuellement en "
        "ligne, merci de patienter quelques instants.",
        "Je voulais savoir si la livraison pouvait arriver jeudi après-midi, parce que "
        "personne ne sera au bureau le matin.",
        "Il a plu toute la semaine, et ce matin le train avait encore du retard, alors je "
        "ne suis arrivé au travail qu'à dix heures et demie.",
        "Pourriez-vous m'envoyer la facture par courriel? Je crois que vous avez encore "
        "notre ancienne adresse.",
        "Notre fille entre à l'école en septembre, et il faut encore acheter des "
        "chaussures, un cartable et des crayons.",
        "Ce week-end nous avons visité trois appartements, mais celui près du parc était "
        "beaucoup trop cher pour nous.",
    ],
}

# espeak-ng voice variants (male and female), speeds (words per minute), pitches (0..99)
VARIANTS = ["m1", "f2", "m3", "f4", "m7", "f1"]
SPEEDS = [135, 165, 195]
PITCHES = [35, 50, 70]
# each text is spoken this many times, each time by another voice, speed, pitch and level
REPEATS = 10


def tools_missing() -> str:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (apt-get install espeak-ng sox)"
    return ""


def _version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
    return (out.stdout + out.stderr).strip().splitlines()[0] if out.returncode == 0 else "?"


def _jobs() -> list[dict[str, object]]:
    """Every utterance of the full corpus in a fixed, interleaved order: taking the first k
    jobs gives a smaller corpus that still spans all languages and voices."""
    rng = random.Random(20240601)
    jobs = []
    i = 0
    for rep in range(REPEATS):
        for lang, texts in TEXTS.items():
            for t, text in enumerate(texts):
                variant = VARIANTS[(rep + t) % len(VARIANTS)]
                jobs.append({
                    "lang": lang, "text": text, "voice": f"{lang}+{variant}",
                    "speed": SPEEDS[(rep + t + i) % len(SPEEDS)],
                    "pitch": PITCHES[(rep + 2 * t + i) % len(PITCHES)],
                    "level_dbm0": round(rng.uniform(-25.0, -10.0), 1),
                })  # fmt: skip
                i += 1
    return jobs


def cache_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("EDGEPBX_TALKOFF_CACHE", "/tmp/edgepbx-talkoff"))


def _speak(job: dict[str, object], workdir: pathlib.Path, idx: int) -> array:
    raw = workdir / f"u{idx}.wav"
    out = workdir / f"u{idx}_8k.wav"
    subprocess.run(
        ["espeak-ng", "-v", str(job["voice"]), "-s", str(job["speed"]), "-p", str(job["pitch"]),
         "-w", str(raw), str(job["text"])],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
         str(out)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with wave.open(str(out), "rb") as w:
        pcm = array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()
    # scale to the job's active speech level (RMS over samples above -50 dBm0 or so)
    active = [v for v in pcm if abs(v) > 100]
    rms = math.sqrt(sum(v * v for v in active) / max(len(active), 1)) or 1.0
    gain = DBM0_RMS * 10 ** (float(job["level_dbm0"]) / 20) / rms  # type: ignore[arg-type]
    return array("h", (max(-32768, min(32767, round(v * gain))) for v in pcm))


def _utterance(job: dict[str, object], tools: str, work: pathlib.Path, idx: int) -> array:
    """One utterance's PCM, from the cache (keyed by its recipe and the tool versions)."""
    key = json.dumps({"v": FORMAT_VERSION, "job": job, "tools": tools}, sort_keys=True,
                     ensure_ascii=False)  # fmt: skip
    path = cache_root() / "utt" / (hashlib.sha256(key.encode()).hexdigest()[:20] + ".raw")
    if not path.exists():
        pcm = _speak(job, work, idx)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(pcm.tobytes())
        tmp.replace(path)
    out = array("h")
    out.frombytes(path.read_bytes())
    return out


def corpus(minutes: float) -> tuple[array, float]:
    """At least `minutes` of speech (or the whole corpus if it is shorter): PCM and its
    duration in seconds; utterances are taken in job order, each cached on its own."""
    missing = tools_missing()
    if missing:
        raise RuntimeError(missing)
    tools = _version("espeak-ng") + " / " + _version("sox")
    gap = array("h", bytes(2 * RATE * 3 // 10))
    jobs = _jobs()
    pcm = array("h")
    done = 0
    with tempfile.TemporaryDirectory(prefix="talkoff-") as tmp:
        work = pathlib.Path(tmp)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            while done < len(jobs) and len(pcm) < minutes * 60 * RATE:
                # about 6 s per utterance: fetch a batch that likely finishes the corpus
                want = max(2, math.ceil((minutes * 60 * RATE - len(pcm)) / (6 * RATE)))
                batch = list(enumerate(jobs[done : done + want], start=done))
                for part in pool.map(lambda a: _utterance(a[1], tools, work, a[0]), batch):
                    pcm += part
                    pcm += gap
                done += len(batch)
    return pcm, len(pcm) / RATE


def main(argv: list[str]) -> int:
    minutes = float(argv[1]) if len(argv) > 1 else 30.0
    pcm, seconds = corpus(minutes)
    print(f"{seconds / 60:.1f} min of speech, {len(pcm)} samples, cache {cache_root()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
