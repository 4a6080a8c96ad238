#!/usr/bin/env bash
# Makes the built-in voicemail greetings (gateway/assets/greetings/{en,pl}.wav) with Debian's
# espeak-ng speech synthesizer: 8 kHz mono 16-bit WAV, the rate of G.711 calls. The files are
# committed (the gateway embeds them), so this runs only when the words change:
#   apt-get install espeak-ng sox && scripts/greetings.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=gateway/assets/greetings
mkdir -p "$out"
say() { # lang voice text
  espeak-ng -v "$2" -s 150 -w "/tmp/greeting-$1.wav" "$3"
  # 8 kHz mono 16-bit, a little quieter than full scale, 0.3 s of silence at the end.
  sox "/tmp/greeting-$1.wav" -r 8000 -c 1 -b 16 "$out/$1.wav" gain -n -3 pad 0 0.3
  rm -f "/tmp/greeting-$1.wav"
}
say en en-gb "The person you called cannot take your call right now. Please leave a message after the tone, and press the hash key when you are done."
say pl pl "Osoba, do której dzwonisz, nie może teraz odebrać. Zostaw wiadomość po sygnale, a na koniec naciśnij krzyżyk."
ls -l "$out"
