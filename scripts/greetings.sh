#!/usr/bin/env bash
# Makes the built-in voicemail greetings (gateway/assets/greetings/{en,pl}.wav) and the words
# of listening to one's voicemail (gateway/assets/prompts/{en,pl}-*.wav) with Debian's
# espeak-ng speech synthesizer: 8 kHz mono 16-bit WAV, the rate of G.711 calls. The files are
# committed (the gateway embeds them), so this runs only when the words change:
#   apt-get install espeak-ng sox && scripts/greetings.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=gateway/assets/greetings
mkdir -p "$out"
say() { # name voice text [folder]
  espeak-ng -v "$2" -s 150 -w "/tmp/greeting-$1.wav" "$3"
  # 8 kHz mono 16-bit, a little quieter than full scale, 0.3 s of silence at the end.
  sox "/tmp/greeting-$1.wav" -r 8000 -c 1 -b 16 "${4:-$out}/$1.wav" gain -n -3 pad 0 0.3
  rm -f "/tmp/greeting-$1.wav"
}
say en en-gb "The person you called cannot take your call right now. Please leave a message after the tone, and press the hash key when you are done."
say pl pl "Osoba, do której dzwonisz, nie może teraz odebrać. Zostaw wiadomość po sygnale, a na koniec naciśnij krzyżyk."
p=gateway/assets/prompts
mkdir -p "$p"
say en-none en-gb "You have no new messages. Goodbye." "$p"
say en-intro en-gb "Your new messages. After each one, press 1 to hear it again, 7 to delete it, or the hash key for the next one." "$p"
say en-deleted en-gb "Message deleted." "$p"
say en-end en-gb "No more new messages. Goodbye." "$p"
say pl-none pl "Nie masz nowych wiadomości. Do widzenia." "$p"
say pl-intro pl "Twoje nowe wiadomości. Po każdej naciśnij 1, aby odsłuchać ją ponownie, 7, aby ją usunąć, albo krzyżyk, aby przejść do następnej." "$p"
say pl-deleted pl "Wiadomość usunięta." "$p"
say pl-end pl "Nie ma więcej nowych wiadomości. Do widzenia." "$p"
# Logging in to a box from another phone (*97).
say en-mailbox en-gb "Please enter the mailbox number, then the hash key." "$p"
say en-pin en-gb "Please enter the PIN, then the hash key." "$p"
say en-wrong en-gb "Wrong mailbox number or PIN." "$p"
say en-bye en-gb "Goodbye." "$p"
say pl-mailbox pl "Wpisz numer skrzynki, a potem krzyżyk." "$p"
say pl-pin pl "Wpisz PIN, a potem krzyżyk." "$p"
say pl-wrong pl "Błędny numer skrzynki lub PIN." "$p"
say pl-bye pl "Do widzenia." "$p"
ls -l "$out" "$p"
