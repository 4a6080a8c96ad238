//! The UI's words, one table per language. Every table is a [`Strings`] value, so a key
//! missing from a language does not compile; texts with values in them are functions.
//! Dates, times, durations and numbers are formatted by the browser's `Intl`
//! ([`crate::services::intl`]), not here.

pub use crate::model::Lang;
use crate::model::{Direction, MyStatus, NumberLabel, Outcome, Presence};

macro_rules! strings {
    (text { $($k:ident),* $(,)? } fns { $($f:ident : ($($a:ty),*)),* $(,)? }) => {
        /// One language's words.
        pub struct Strings {
            $(pub $k: &'static str,)*
            $(pub $f: fn($($a),*) -> String,)*
        }

        impl Strings {
            /// Every plain text, by key (for the coverage tests).
            #[cfg(test)]
            pub fn texts(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($k), self.$k)),*]
            }
        }
    };
}

strings! {
    text {
        loading, sections, nav_contacts, nav_history, nav_dialpad, nav_settings, nav_admin,
        admin_employees, admin_blocks, admin_import, logout, reg_unregistered, reg_connecting,
        my_status, presence_available, presence_in_call, presence_ringing, presence_dnd,
        presence_away, presence_offline, presence_lost, set_available, set_dnd, set_away,
        status_save_failed,
        contacts_title, search_label, search_placeholder, col_name, col_ext, col_number,
        col_status, col_actions, call_audio, call_video, no_contacts,
        kind_contact, add_contact, edit_contact, edit, remove, contact_name, contact_org,
        contact_numbers, add_number, remove_number, save, saving, cancel, label_work,
        label_mobile, label_home, label_other, form_name_missing, form_number_missing,
        form_number_invalid, phonebook_title, import_label, importing, export_vcard,
        export_csv, load_failed,
        history_title, dir_outgoing, dir_incoming, dir_missed, outcome_answered,
        outcome_missed, outcome_declined, outcome_busy, outcome_unavailable, outcome_failed,
        history_empty, load_more, col_time, col_duration, col_outcome, col_direction,
        dialer_label, dial_label, dial_placeholder, dial_delete,
        call_panel_label, no_call, last_call, calling, ringing_out, incoming, incoming_video,
        in_call, cancel_call, answer, answering, answer_video, decline, mute, unmute,
        camera_off, camera_on, hang_up,
        settings_title, language, language_saved, account, field_name, field_email,
        field_extension, field_number, field_company,
        login_title, email, password, logging_in, log_in, forgot_password, reset_title,
        reset_hint, send_reset, sending, email_hint, session_ended, connection_lost,
    }
    fns {
        reg_online: (&str),
        reg_failed: (&str),
        reg_reconnecting: (u64, u32),
        call_person: (&str),
        video_person: (&str),
        fav_add: (&str),
        fav_remove: (&str),
        confirm_remove: (&str),
        imported: (u64),
        duplicates: (u64),
        import_line: (u64, &str),
        missed_badge: (u64),
        call_back: (&str),
        dial_key: (char),
        received: (&str),
    }
}

/// Polish plural forms: 1 → `one`, 2–4 (not 12–14) → `few`, otherwise `many`.
pub fn pl_plural(n: u64, one: &str, few: &str, many: &str) -> String {
    let word = if n == 1 {
        one
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        few
    } else {
        many
    };
    format!("{n} {word}")
}

pub static EN: Strings = Strings {
    loading: "Loading…",
    sections: "Sections",
    nav_contacts: "Contacts",
    nav_history: "History",
    nav_dialpad: "Dial pad",
    nav_settings: "Settings",
    nav_admin: "Admin",
    admin_employees: "Employees",
    admin_blocks: "Number blocks",
    admin_import: "Import",
    logout: "Log out",
    reg_unregistered: "Not logged in",
    reg_connecting: "Connecting…",
    my_status: "Your status",
    presence_available: "Available",
    presence_in_call: "In a call",
    presence_ringing: "Ringing",
    presence_dnd: "Do not disturb",
    presence_away: "Away",
    presence_offline: "Offline",
    presence_lost: "Presence unavailable: showing the last known status.",
    set_available: "Available",
    set_dnd: "Do not disturb",
    set_away: "Away",
    status_save_failed: "Could not change your status",
    contacts_title: "Contacts",
    search_label: "Search contacts",
    search_placeholder: "Search name, number or extension ( / )",
    col_name: "Name",
    col_ext: "Ext.",
    col_number: "Number",
    col_status: "Status",
    col_actions: "Actions",
    call_audio: "Call",
    call_video: "Video call",
    no_contacts: "No contacts match.",
    kind_contact: "Phone book",
    add_contact: "Add contact",
    edit_contact: "Edit contact",
    edit: "Edit",
    remove: "Remove",
    contact_name: "Name",
    contact_org: "Organisation",
    contact_numbers: "Numbers",
    add_number: "Add number",
    remove_number: "Remove number",
    save: "Save",
    saving: "Saving…",
    cancel: "Cancel",
    label_work: "Work",
    label_mobile: "Mobile",
    label_home: "Home",
    label_other: "Other",
    form_name_missing: "Enter a name.",
    form_number_missing: "Enter at least one number.",
    form_number_invalid: "This is not a phone number.",
    phonebook_title: "Phone book",
    import_label: "Import contacts (vCard or CSV)",
    importing: "Importing…",
    export_vcard: "Export as vCard",
    export_csv: "Export as CSV",
    load_failed: "Could not load",
    history_title: "Call history",
    dir_outgoing: "Outgoing",
    dir_incoming: "Incoming",
    dir_missed: "Missed",
    outcome_answered: "Answered",
    outcome_missed: "Missed",
    outcome_declined: "Declined",
    outcome_busy: "Busy",
    outcome_unavailable: "Unavailable",
    outcome_failed: "Failed",
    history_empty: "No calls yet.",
    load_more: "Show older calls",
    col_time: "Time",
    col_duration: "Duration",
    col_outcome: "Result",
    col_direction: "Call",
    dialer_label: "Dial pad",
    dial_label: "Number or extension",
    dial_placeholder: "Extension to call",
    dial_delete: "Delete last digit",
    call_panel_label: "Call",
    no_call: "No call",
    last_call: "Last call: ",
    calling: "Calling…",
    ringing_out: "Ringing…",
    incoming: "Incoming call",
    incoming_video: "Incoming video call",
    in_call: "In call",
    cancel_call: "Cancel call",
    answer: "Answer",
    answering: "Answering…",
    answer_video: "Answer with video",
    decline: "Decline",
    mute: "Mute",
    unmute: "Unmute",
    camera_off: "Camera off",
    camera_on: "Camera on",
    hang_up: "Hang up",
    settings_title: "Settings",
    language: "Language",
    language_saved: "Saved.",
    account: "Your account",
    field_name: "Name",
    field_email: "E-mail",
    field_extension: "Extension",
    field_number: "Public number",
    field_company: "Company",
    login_title: "Sign in to your phone",
    email: "E-mail",
    password: "Password",
    logging_in: "Logging in…",
    log_in: "Log in",
    forgot_password: "Forgot your password?",
    reset_title: "Reset your password",
    reset_hint: "We will e-mail you a link to choose a new password.",
    send_reset: "Send reset link",
    sending: "Sending…",
    email_hint: "Enter an e-mail address like name@example.com",
    session_ended: "Your session has ended. Please log in again.",
    connection_lost: "Connection to the phone system lost",
    reg_online: |ext| format!("Online as extension {ext}"),
    reg_failed: |why| format!("Not registered: {why}"),
    reg_reconnecting: |secs, attempt| {
        format!("Connection lost. Reconnecting in {secs} s (attempt {attempt})…")
    },
    call_person: |name| format!("Call {name}"),
    video_person: |name| format!("Video call {name}"),
    fav_add: |name| format!("Add {name} to favourites"),
    fav_remove: |name| format!("Remove {name} from favourites"),
    confirm_remove: |name| format!("Remove {name} from your phone book?"),
    imported: |n| {
        if n == 1 {
            "Imported 1 contact.".into()
        } else {
            format!("Imported {n} contacts.")
        }
    },
    import_line: |line, msg| format!("Line {line}: {msg}"),
    duplicates: |n| {
        if n == 1 {
            "1 was already in your phone book.".into()
        } else {
            format!("{n} were already in your phone book.")
        }
    },
    missed_badge: |n| {
        if n == 1 {
            "1 missed call".into()
        } else {
            format!("{n} missed calls")
        }
    },
    call_back: |name| format!("Call back {name}"),
    dial_key: |d| format!("Dial {d}"),
    received: |bytes| format!("Received {bytes}"),
};

pub static PL: Strings = Strings {
    loading: "Wczytywanie…",
    sections: "Sekcje",
    nav_contacts: "Kontakty",
    nav_history: "Historia",
    nav_dialpad: "Klawiatura",
    nav_settings: "Ustawienia",
    nav_admin: "Administracja",
    admin_employees: "Pracownicy",
    admin_blocks: "Pule numerów",
    admin_import: "Import",
    logout: "Wyloguj się",
    reg_unregistered: "Niezalogowany",
    reg_connecting: "Łączenie…",
    my_status: "Twój status",
    presence_available: "Dostępny",
    presence_in_call: "Rozmawia",
    presence_ringing: "Dzwoni",
    presence_dnd: "Nie przeszkadzać",
    presence_away: "Zaraz wracam",
    presence_offline: "Niedostępny",
    presence_lost: "Statusy są chwilowo niedostępne: widać ostatni znany stan.",
    set_available: "Dostępny",
    set_dnd: "Nie przeszkadzać",
    set_away: "Zaraz wracam",
    status_save_failed: "Nie udało się zmienić statusu",
    contacts_title: "Kontakty",
    search_label: "Szukaj kontaktów",
    search_placeholder: "Szukaj po nazwisku, numerze lub numerze wewnętrznym ( / )",
    col_name: "Imię i nazwisko",
    col_ext: "Wewn.",
    col_number: "Numer",
    col_status: "Status",
    col_actions: "Działania",
    call_audio: "Zadzwoń",
    call_video: "Wideorozmowa",
    no_contacts: "Żaden kontakt nie pasuje.",
    kind_contact: "Książka telefoniczna",
    add_contact: "Dodaj kontakt",
    edit_contact: "Edytuj kontakt",
    edit: "Edytuj",
    remove: "Usuń",
    contact_name: "Imię i nazwisko",
    contact_org: "Firma",
    contact_numbers: "Numery",
    add_number: "Dodaj numer",
    remove_number: "Usuń numer",
    save: "Zapisz",
    saving: "Zapisywanie…",
    cancel: "Anuluj",
    label_work: "Służbowy",
    label_mobile: "Komórkowy",
    label_home: "Domowy",
    label_other: "Inny",
    form_name_missing: "Wpisz imię i nazwisko.",
    form_number_missing: "Wpisz co najmniej jeden numer.",
    form_number_invalid: "To nie wygląda na numer telefonu.",
    phonebook_title: "Książka telefoniczna",
    import_label: "Importuj kontakty (vCard lub CSV)",
    importing: "Importowanie…",
    export_vcard: "Eksportuj do vCard",
    export_csv: "Eksportuj do CSV",
    load_failed: "Nie udało się wczytać",
    history_title: "Historia połączeń",
    dir_outgoing: "Wychodzące",
    dir_incoming: "Przychodzące",
    dir_missed: "Nieodebrane",
    outcome_answered: "Odebrane",
    outcome_missed: "Nieodebrane",
    outcome_declined: "Odrzucone",
    outcome_busy: "Zajęte",
    outcome_unavailable: "Niedostępny",
    outcome_failed: "Nieudane",
    history_empty: "Nie ma jeszcze żadnych połączeń.",
    load_more: "Pokaż starsze połączenia",
    col_time: "Kiedy",
    col_duration: "Czas trwania",
    col_outcome: "Wynik",
    col_direction: "Połączenie",
    dialer_label: "Klawiatura",
    dial_label: "Numer lub numer wewnętrzny",
    dial_placeholder: "Numer do wybrania",
    dial_delete: "Usuń ostatnią cyfrę",
    call_panel_label: "Połączenie",
    no_call: "Brak połączenia",
    last_call: "Ostatnie połączenie: ",
    calling: "Łączenie…",
    ringing_out: "Dzwoni…",
    incoming: "Połączenie przychodzące",
    incoming_video: "Przychodząca wideorozmowa",
    in_call: "Trwa rozmowa",
    cancel_call: "Anuluj połączenie",
    answer: "Odbierz",
    answering: "Odbieranie…",
    answer_video: "Odbierz z obrazem",
    decline: "Odrzuć",
    mute: "Wycisz",
    unmute: "Włącz mikrofon",
    camera_off: "Wyłącz kamerę",
    camera_on: "Włącz kamerę",
    hang_up: "Rozłącz",
    settings_title: "Ustawienia",
    language: "Język",
    language_saved: "Zapisano.",
    account: "Twoje konto",
    field_name: "Imię i nazwisko",
    field_email: "E-mail",
    field_extension: "Numer wewnętrzny",
    field_number: "Numer publiczny",
    field_company: "Firma",
    login_title: "Zaloguj się do telefonu",
    email: "E-mail",
    password: "Hasło",
    logging_in: "Logowanie…",
    log_in: "Zaloguj się",
    forgot_password: "Nie pamiętasz hasła?",
    reset_title: "Ustaw nowe hasło",
    reset_hint: "Wyślemy Ci e-mailem link do ustawienia nowego hasła.",
    send_reset: "Wyślij link",
    sending: "Wysyłanie…",
    email_hint: "Wpisz adres e-mail, np. imie@firma.pl",
    session_ended: "Sesja wygasła. Zaloguj się ponownie.",
    connection_lost: "Utracono połączenie z centralą",
    reg_online: |ext| format!("Połączono, numer wewnętrzny {ext}"),
    reg_failed: |why| format!("Brak rejestracji: {why}"),
    reg_reconnecting: |secs, attempt| {
        format!("Utracono połączenie. Ponowna próba za {secs} s (próba {attempt})…")
    },
    call_person: |name| format!("Zadzwoń do: {name}"),
    video_person: |name| format!("Wideorozmowa z: {name}"),
    fav_add: |name| format!("Dodaj do ulubionych: {name}"),
    fav_remove: |name| format!("Usuń z ulubionych: {name}"),
    confirm_remove: |name| format!("Usunąć kontakt {name} z książki telefonicznej?"),
    imported: |n| {
        format!(
            "Zaimportowano {}.",
            pl_plural(n, "kontakt", "kontakty", "kontaktów")
        )
    },
    import_line: |line, msg| format!("Wiersz {line}: {msg}"),
    duplicates: |n| {
        format!(
            "Pominięto {} (już są w książce).",
            pl_plural(n, "kontakt", "kontakty", "kontaktów")
        )
    },
    missed_badge: |n| {
        pl_plural(
            n,
            "nieodebrane połączenie",
            "nieodebrane połączenia",
            "nieodebranych połączeń",
        )
    },
    call_back: |name| format!("Oddzwoń: {name}"),
    dial_key: |d| format!("Wybierz {d}"),
    received: |bytes| format!("Odebrano {bytes}"),
};

impl Lang {
    /// This language's table.
    pub fn t(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Pl => &PL,
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Pl => "Polski",
        }
    }
}

impl Strings {
    pub fn presence(&self, p: Presence) -> &'static str {
        match p {
            Presence::Available => self.presence_available,
            Presence::InCall => self.presence_in_call,
            Presence::Ringing => self.presence_ringing,
            Presence::Dnd => self.presence_dnd,
            Presence::Away => self.presence_away,
            Presence::Offline => self.presence_offline,
        }
    }

    pub fn my_status_name(&self, s: MyStatus) -> &'static str {
        match s {
            MyStatus::Available => self.set_available,
            MyStatus::Dnd => self.set_dnd,
            MyStatus::Away => self.set_away,
        }
    }

    pub fn number_label(&self, l: NumberLabel) -> &'static str {
        match l {
            NumberLabel::Work => self.label_work,
            NumberLabel::Mobile => self.label_mobile,
            NumberLabel::Home => self.label_home,
            NumberLabel::Other => self.label_other,
        }
    }

    pub fn outcome(&self, o: Outcome) -> &'static str {
        match o {
            Outcome::Answered => self.outcome_answered,
            Outcome::Missed => self.outcome_missed,
            Outcome::Declined => self.outcome_declined,
            Outcome::Busy => self.outcome_busy,
            Outcome::Unavailable => self.outcome_unavailable,
            Outcome::Failed => self.outcome_failed,
        }
    }

    /// A history row's kind: missed, outgoing or incoming.
    pub fn direction(&self, d: Direction, missed: bool) -> &'static str {
        match (d, missed) {
            (_, true) => self.dir_missed,
            (Direction::Outgoing, _) => self.dir_outgoing,
            (Direction::Incoming, _) => self.dir_incoming,
        }
    }

    /// Why a call ended, from the user agent's English words.
    pub fn end_reason(&'static self, reason: &str) -> String {
        if std::ptr::eq(self, &EN) {
            return reason.to_string();
        }
        let words = match reason {
            "You hung up" => "Rozłączyłeś się",
            "The other side hung up" => "Rozmówca się rozłączył",
            "Missed call: the caller hung up" => "Nieodebrane: dzwoniący się rozłączył",
            "No such extension" => "Nie ma takiego numeru",
            "Not available: nobody is logged in on that extension" => {
                "Niedostępny: nikt nie jest zalogowany na tym numerze"
            }
            "Busy" => "Zajęte",
            "Declined" => "Odrzucone",
            "The phone system refused the call" => "Centrala odmówiła połączenia",
            "No answer" => "Brak odpowiedzi",
            "Call cancelled" => "Połączenie anulowane",
            "Connection to the phone system lost" => self.connection_lost,
            "Not connected to the phone system" => "Brak połączenia z centralą",
            "Microphone access was denied" => "Brak dostępu do mikrofonu",
            other => return other.to_string(),
        };
        words.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_words_in_every_language() {
        for lang in Lang::ALL {
            for (key, text) in lang.t().texts() {
                assert!(!text.trim().is_empty(), "{lang:?}.{key} is empty");
            }
        }
        // The same keys in the same order (the struct guarantees it; this reads them).
        let en: Vec<_> = EN.texts().into_iter().map(|(k, _)| k).collect();
        let pl: Vec<_> = PL.texts().into_iter().map(|(k, _)| k).collect();
        assert_eq!(en, pl);
    }

    #[test]
    fn polish_is_translated_with_polish_letters() {
        let en = EN.texts();
        let pl = PL.texts();
        let same: Vec<_> = en
            .iter()
            .zip(&pl)
            .filter(|(e, p)| e.1 == p.1)
            .map(|(e, _)| e.0)
            .collect();
        // Words that are the same in both languages.
        assert!(
            same.iter()
                .all(|k| ["col_status", "email", "field_email", "admin_import"].contains(k)),
            "untranslated: {same:?}"
        );
        let all: String = pl.iter().map(|(_, t)| *t).collect();
        for letter in ['ą', 'ę', 'ł', 'ó', 'ś', 'ż', 'ń', 'ć'] {
            assert!(all.contains(letter), "no {letter}");
        }
    }

    #[test]
    fn functions_fill_in_values() {
        for lang in Lang::ALL {
            let t = lang.t();
            for s in [
                (t.reg_online)("101"),
                (t.reg_failed)("x"),
                (t.reg_reconnecting)(2, 1),
                (t.call_person)("Ala"),
                (t.video_person)("Ala"),
                (t.fav_add)("Ala"),
                (t.fav_remove)("Ala"),
                (t.confirm_remove)("Ala"),
                (t.imported)(3),
                (t.import_line)(4, "x"),
                (t.duplicates)(2),
                (t.missed_badge)(2),
                (t.call_back)("Ala"),
                (t.dial_key)('5'),
                (t.received)("1 kB"),
            ] {
                assert!(s.len() > 3, "{lang:?}: {s}");
            }
        }
        assert_eq!((EN.reg_online)("101"), "Online as extension 101");
        assert_eq!((PL.missed_badge)(1), "1 nieodebrane połączenie");
        assert_eq!((PL.missed_badge)(3), "3 nieodebrane połączenia");
        assert_eq!((PL.missed_badge)(5), "5 nieodebranych połączeń");
        assert_eq!((PL.missed_badge)(22), "22 nieodebrane połączenia");
        assert_eq!((PL.missed_badge)(12), "12 nieodebranych połączeń");
        assert_eq!((PL.imported)(1), "Zaimportowano 1 kontakt.");
        assert_eq!((EN.imported)(2), "Imported 2 contacts.");
    }

    #[test]
    fn enums_have_words_and_end_reasons_are_translated() {
        for lang in Lang::ALL {
            let t = lang.t();
            for p in Presence::ALL {
                assert!(!t.presence(p).is_empty());
            }
            for o in [
                Outcome::Answered,
                Outcome::Missed,
                Outcome::Declined,
                Outcome::Busy,
                Outcome::Unavailable,
                Outcome::Failed,
            ] {
                assert!(!t.outcome(o).is_empty());
            }
        }
        assert_eq!(EN.presence(Presence::InCall), "In a call");
        assert_eq!(EN.end_reason("Busy"), "Busy");
        assert_eq!(PL.end_reason("Busy"), "Zajęte");
        assert_eq!(
            PL.end_reason("Call failed: 500 Oops"),
            "Call failed: 500 Oops"
        );
    }

    #[test]
    fn browser_language_picks_the_table() {
        assert_eq!(Lang::from_browser("pl-PL"), Lang::Pl);
        assert_eq!(Lang::from_browser("PL"), Lang::Pl);
        assert_eq!(Lang::from_browser("en-US"), Lang::En);
        assert_eq!(Lang::from_browser("de"), Lang::En);
        assert_eq!(Lang::parse("pl"), Some(Lang::Pl));
        assert_eq!(Lang::parse("fr"), None);
    }
}
