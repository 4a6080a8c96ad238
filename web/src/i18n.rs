//! The UI's words, one table per language. Every table is a [`Strings`] value, so a key
//! missing from a language does not compile; texts with values in them are functions.
//! Dates, times, durations and numbers are formatted by the browser's `Intl`
//! ([`crate::services::intl`]), not here.

pub use crate::model::Lang;
use crate::model::{
    Direction, EndReason, LoginNotice, MediaError, MyStatus, NumberLabel, Outcome, PhoneNotice,
    Presence, Problem,
};

macro_rules! strings {
    (
        text { $($k:ident),* $(,)? }
        fns { $($f:ident : ($($a:ty),*)),* $(,)? }
        lookups { $($l:ident : ($($la:ty),*) -> $lr:ty),* $(,)? }
    ) => {
        /// One language's words.
        pub struct Strings {
            $(pub $k: &'static str,)*
            $(pub $f: fn($($a),*) -> String,)*
            $(pub $l: fn($($la),*) -> $lr,)*
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
        share_screen, stop_sharing, video_busy, remote_screen_label, share_denied,
        share_unavailable, share_unsupported, video_refused, camera_denied, camera_not_found,
        camera_in_use,
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
        outcome_voicemail,
        history_empty, load_more, col_time, col_duration, col_outcome, col_direction,
        dialer_label, dial_label, dial_placeholder, dial_delete,
        call_panel_label, no_call, last_call, calling, ringing_out, incoming, incoming_video,
        in_call, cancel_call, answer, answering, answer_video, decline, mute, unmute,
        camera_off, camera_on, hang_up, hold, resume, on_hold, held_by_peer, calls_label,
        switch_call, call_waiting_setting, call_waiting_hint,
        keypad_show, keypad_hide, keypad_label, dtmf_sent_label, dtmf_unavailable,
        devices_title, mic_label, camera_label, speaker_label, ringtone_label, device_default,
        device_not_connected, devices_allow, devices_allow_hint, devices_denied,
        devices_unsupported, speaker_unsupported_hint, ringtone_unsupported_hint, unnamed_mic,
        unnamed_camera, unnamed_output, mic_gone, camera_gone, speaker_gone, ringer_gone,
        notify_title, notify_enable, notify_hint, notify_granted, notify_denied,
        notify_unsupported, notify_incoming,
        settings_title, language, language_saved, account, field_name, field_email,
        field_extension, field_number, field_company,
        login_title, email, password, logging_in, log_in, forgot_password, reset_title,
        reset_hint, send_reset, sending, email_hint, session_ended, connection_lost,
        email_placeholder, email_missing, password_missing, passwords_differ, reset_sent,
        link_problem_title, link_request_hint, link_request_submit, back_to_login,
        link_checking, new_password, repeat_password, set_password_submit, link_used,
        link_expired, link_invalid, link_gone, err_offline, err_unreadable,
        adm_panel, adm_load_employees_failed, adm_load_blocks_failed, adm_access_failed,
        adm_block_added, adm_import_nothing, adm_search_label, adm_search_placeholder,
        adm_bulk_grant, adm_bulk_revoke, adm_col_select, adm_col_role, adm_col_access,
        adm_col_invitation, adm_remove_failed, adm_invite_failed, yes, no, adm_invite_active,
        adm_invite_invited, adm_invite_none, adm_resend_invite, adm_save_changes,
        adm_add_employee, adm_edit_employee, adm_ext_next_free, adm_role_user, adm_role_admin,
        adm_access_check, adm_block_removed, adm_block_remove_failed, adm_no_blocks,
        adm_add_block_title, adm_first_number, adm_size, adm_first_ext_optional,
        adm_first_ext, adm_adding, adm_add_block, adm_import_title, adm_import_hint,
        adm_csv_file, adm_csv_text, adm_check, adm_import_run, adm_file_unreadable,
        adm_col_row, adm_col_action, adm_col_problems, adm_action_new, adm_action_update,
        adm_action_unchanged, adm_action_error, adm_name_missing, adm_fix_fields,
        adm_block_first_missing, adm_block_size_missing,
        admin_tokens, tok_title, tok_hint, tok_name, tok_days, tok_days_hint, tok_create,
        tok_creating, tok_new_title, tok_secret, tok_secret_once, tok_copy, tok_copied,
        tok_copy_failed, tok_done, tok_col_created, tok_col_created_by, tok_col_expires,
        tok_col_last_used, tok_never, tok_no_expiry, tok_expired, tok_revoke, tok_none,
        tok_load_failed, tok_revoke_failed, tok_name_missing, tok_days_invalid,
        end_you_hung_up, end_other_hung_up, end_missed, end_not_connected,
        end_no_such_extension, end_no_trunk, end_no_trunk_emergency, end_internal_only,
        end_no_international, end_no_premium, end_network_down, end_limit_reached,
        end_suspended, end_unavailable, end_busy,
        end_declined, end_refused,
        end_no_answer, end_cancelled, phone_login_refused, media_insecure, media_prepare,
        cred_tls_proxy, dev_confirm_remove_this, nav_devices, dev_title, dev_hint,
        dev_admin_hint, dev_none, dev_kind_browser,
        dev_kind_phone, dev_unknown_phone, dev_web_app, dev_this, dev_default, dev_make_default,
        dev_col_device, dev_col_connection, dev_col_since, dev_col_seen, dev_encrypted,
        dev_locked, dev_locked_admin, dev_unlocked_admin, dev_lock, dev_unlock, dev_lock_done,
        dev_unlock_done, dev_lock_failed, dev_load_failed, dev_remove_failed, dev_removed,
        dev_default_failed, dev_default_set, ring_title, ring_all, ring_first_secs,
        ring_first_hint, ring_no_default, ring_secs_invalid, fwd_title, fwd_hint, fwd_always,
        fwd_busy, fwd_no_answer, fwd_offline, fwd_unavailable, fwd_always_on, fwd_off,
        fwd_colleague, fwd_group, fwd_external, fwd_voicemail, fwd_voicemail_note, fwd_where, fwd_choose,
        fwd_add_member, fwd_group_hint, fwd_number, fwd_external_note, fwd_after,
        fwd_after_hint, fwd_saved, fwd_load_failed, fwd_pick_colleague, fwd_pick_group,
        fwd_number_invalid, fwd_secs_invalid, cred_title, cred_hint, cred_label, cred_create,
        cred_none, cred_col_label, cred_col_username, cred_new_title, cred_username,
        cred_domain, cred_proxy, cred_transports, cred_once, cred_copy_failed, cred_setup_title,
        cred_step_open, cred_step_login, cred_step_done, cred_label_missing, cred_load_failed,
        cred_revoke_failed, cred_full, adm_back_to_employees, fwd_to_unknown, end_loop,
        end_elsewhere, login_device_removed, phone_locked, phone_too_many, dir_forwarded,
        why_always, why_busy, why_no_answer, why_offline, why_unavailable,
        end_transferred, xfer_button, xfer_target_label, xfer_blind, xfer_consult, xfer_close,
        xfer_complete, xfer_back, xfer_drop_hint, xfer_requested, xfer_ringing, xfer_done,
        xfer_failed, xfer_away, xfer_consulting, xfer_invalid, dtmf_received_label,
        nav_voicemail, vm_title, vm_empty, vm_new, vm_mark_heard, vm_mark_new, vm_delete,
        vm_download, vm_greetings_title, vm_greetings_hint, vm_record, vm_stop, vm_saving,
        vm_remove_greeting, vm_builtin, vm_situation_default, vm_situation_busy,
        vm_situation_no_answer, vm_situation_offline, vm_mic_refused, vm_record_failed,
        vm_load_failed, vm_badge_label, vm_col_from, vm_col_when, vm_col_length, vm_listen,
        vm_pin_title, vm_pin_hint, vm_pin_label, vm_pin_save, vm_pin_remove, vm_pin_is_set,
        vm_pin_not_set, vm_pin_saved, vm_pin_removed, vm_pin_invalid, vm_pin_weak,
        vm_pin_failed, adm_media_title, adm_media_relay, adm_media_hint, adm_media_saved,
        adm_media_failed,
        cl_title, cl_company_hint, cl_person_hint, cl_permission, cl_perm_internal,
        cl_perm_national, cl_perm_international, cl_premium, cl_caller_id, cl_cid_own,
        cl_cid_main, cl_cid_withheld, cl_main_number, cl_main_ext, cl_main_ext_hint, cl_company_default,
        cl_allowed, cl_not_allowed, cl_mobile, cl_mobile_hint, cl_save, cl_saved, cl_failed,
        cl_my_title, cl_you_may, cl_suspended, cl_lift, move_hint,
        admin_costs, cost_title, cost_month, cost_people, cost_col_calls, cost_col_time,
        cost_col_cost, cost_col_flat, cost_col_limit, cost_flat_none, cost_flat_landline,
        cost_flat_landline_mobile, cost_total, cost_former, cost_statement, cost_download_csv,
        cost_col_item, cost_col_quantity, cost_col_unit, cost_col_amount,
        cost_item_subscription, cost_item_numbers, cost_limits_title, cost_company_limit,
        cost_person_limit, cost_limits_hint, cost_person_limit_hint, cost_limit_invalid,
        cost_save_limits, cost_saved, cost_save_failed, cost_my_title, cost_my_spent,
        cost_no_limit, cost_no_calls, cost_col_number, cost_col_class, cost_unpriced,
    }
    fns {
        share_other: (&str),
        camera_problem: (&str),
        reg_online: (&str),
        reg_failed: (&str),
        no_phone_login: (&str),
        end_failed: (u16, &str),
        media_denied: (bool),
        media_not_found: (bool),
        media_in_use: (bool),
        media_other: (bool, &str),
        media_unsupported: (&str),
        media_remote_refused: (&str),
        media_prepare_detail: (&str),
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
        password_short: (usize),
        setpw_title: (&str, &str),
        setpw_hint: (usize),
        err_status: (u16),
        adm_count: (u64),
        adm_access_granted: (u64),
        adm_access_revoked: (u64),
        adm_saved: (&str),
        adm_added: (&str),
        adm_added_invited: (&str, &str),
        adm_confirm_remove: (&str, &str),
        adm_removed: (&str),
        adm_invite_sent: (&str),
        adm_select: (&str),
        adm_block_info: (u64, &str),
        adm_import_summary: (bool, u64, u64, u64, u64),
        tok_created: (&str),
        tok_confirm_revoke: (&str),
        tok_revoked: (&str),
        tok_revoke_label: (&str),
        dev_web_app_in: (&str),
        dev_confirm_remove: (&str),
        dev_remove_label: (&str),
        dev_default_label: (&str),
        dev_login: (&str),
        dev_count: (u64, u64),
        ring_default_first: (&str),
        fwd_remove_member: (&str),
        cred_step_server: (&str, &str, &str),
        cred_created: (&str),
        cred_confirm_revoke: (&str),
        cred_revoked: (&str),
        cred_revoke_label: (&str),
        adm_devices_title: (&str, &str),
        adm_devices_label: (&str),
        fwd_to: (&str),
        waiting_from: (&str),
        fwd_from: (&str),
        hist_forwarded_to: (&str, &str),
        hist_forwarded_from: (&str, &str),
        device_switch_failed: (&str),
        speaker_failed: (&str),
        cost_class: (&str),
        cost_spent_of: (&str, &str, i64),
    }
    lookups {
        // A stable API error code's words; `None`: the server's own message says it best
        // (in English it often names the thing, as "No such employee.").
        api_error: (&str) -> Option<&'static str>,
        // A field's problem from the API (code, field, the server's words), as a person
        // reads it after the field's name; unknown pairs keep the server's words.
        field_error: (&str, &str, &str) -> String,
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
    share_screen: "Share screen",
    stop_sharing: "Stop sharing",
    video_busy: "Changing the video…",
    remote_screen_label: "Shared screen",
    share_denied: "Screen sharing was refused",
    share_unavailable: "There is nothing this browser can share here (no screen to capture)",
    share_unsupported: "This browser cannot share the screen",
    video_refused: "The other side did not accept the change; the call goes on as it was",
    camera_denied: "Access to the camera was denied",
    camera_not_found: "No camera found",
    camera_in_use: "The camera is being used by another program",
    share_other: |why| format!("Could not share the screen ({why})"),
    camera_problem: |why| format!("Could not turn the camera on: {why}"),
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
    outcome_voicemail: "Voicemail",
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
    hold: "Hold",
    resume: "Resume",
    on_hold: "On hold",
    held_by_peer: "Held by the other side",
    calls_label: "Calls",
    switch_call: "Switch to this call",
    call_waiting_setting: "Call waiting",
    call_waiting_hint: "A second caller rings while you talk; when off, they hear busy.",
    keypad_show: "Keypad",
    keypad_hide: "Hide keypad",
    keypad_label: "Keypad: tones sent in the call",
    dtmf_sent_label: "Sent:",
    dtmf_unavailable: "Key tones (DTMF) cannot be sent in this call: the other side did not accept them.",
    devices_title: "Microphone, camera and speakers",
    mic_label: "Microphone",
    camera_label: "Camera",
    speaker_label: "Speaker for calls",
    ringtone_label: "Ringtone output",
    device_default: "Default",
    device_not_connected: "not connected",
    devices_allow: "Allow and list devices",
    devices_allow_hint: "The browser shows the names of your devices once this page may use the microphone.",
    devices_denied: "Access to the microphone and camera was denied, so the browser does not name the devices. Allow it in the browser's site settings, then try again.",
    devices_unsupported: "This browser does not list media devices here (it needs https).",
    speaker_unsupported_hint: "This browser cannot choose the speaker for calls: they play on the system's default output.",
    ringtone_unsupported_hint: "This browser cannot choose the ringtone's output: it rings on the system's default output.",
    unnamed_mic: "Microphone",
    unnamed_camera: "Camera",
    unnamed_output: "Output",
    mic_gone: "The chosen microphone is not connected: the default microphone is used.",
    camera_gone: "The chosen camera is not connected: the default camera is used.",
    speaker_gone: "The chosen speaker is not connected: the call plays on the default output.",
    ringer_gone: "The chosen ringtone output is not connected: it rings on the default output.",
    notify_title: "Calls in the background",
    notify_enable: "Notify me of calls in the background",
    notify_hint: "When a call rings while this tab is hidden, a notification lets you answer or decline it.",
    notify_granted: "Notifications are on: calls ringing in the background show a notification.",
    notify_denied: "Notifications are blocked for this site. Allow them in the browser's site settings to be notified of calls.",
    notify_unsupported: "This browser cannot show call notifications here.",
    notify_incoming: "Incoming call",
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
    end_you_hung_up: "You hung up",
    end_other_hung_up: "The other side hung up",
    end_missed: "Missed call: the caller hung up",
    end_not_connected: "Not connected to the phone system",
    end_no_such_extension: "No such extension",
    end_no_trunk: "Calls outside the company are not set up yet: there is no line to the phone network.",
    end_no_trunk_emergency: "Emergency numbers cannot be called from here yet: there is no line to the phone network. Use a mobile phone or a landline.",
    end_internal_only: "Your phone is set up for calls inside the company only. Ask your administrator if you need to call outside.",
    end_no_international: "International calls are not allowed for you. Ask your administrator if you need them.",
    end_no_premium: "Premium-rate numbers are not allowed for you. Ask your administrator if you need them.",
    end_network_down: "The phone network does not answer. Try again in a moment.",
    end_limit_reached: "This month's spending limit for calls is reached: only calls inside the company and emergency numbers go through. Ask your administrator.",
    end_suspended: "Your calls outside the company are suspended after unusual international calls. Ask your administrator.",
    end_unavailable: "Not available: nobody is logged in on that extension",
    end_busy: "Busy",
    end_declined: "Declined",
    end_refused: "The phone system refused the call",
    end_no_answer: "No answer",
    end_cancelled: "Call cancelled",
    phone_login_refused: "The phone system refused your login. Try logging out and in again.",
    media_insecure: "Calls need a secure page (https) to use the microphone",
    media_prepare: "Could not prepare the call's media",
    email_placeholder: "name@company.com",
    email_missing: "Enter your e-mail address",
    password_missing: "Enter your password",
    passwords_differ: "The two passwords are not the same",
    reset_sent: "If that address belongs to an account with app access, a link to set a new password is on its way. Check your inbox.",
    link_problem_title: "This link cannot be used",
    link_request_hint: "Enter your e-mail address and we will send you a new link.",
    link_request_submit: "Send me a new link",
    back_to_login: "Back to log in",
    link_checking: "Checking your link…",
    new_password: "New password",
    repeat_password: "Repeat the password",
    set_password_submit: "Set password and log in",
    link_used: "This link has already been used.",
    link_expired: "This link has expired.",
    link_invalid: "This link is not valid.",
    link_gone: "This link can no longer be used.",
    err_offline: "Cannot reach the server. Check your connection and try again.",
    err_unreadable: "The server's answer could not be read.",
    adm_panel: "Administration",
    adm_load_employees_failed: "Could not load the employees",
    adm_load_blocks_failed: "Could not load the number blocks",
    adm_access_failed: "Could not change app access",
    adm_block_added: "Number block added.",
    adm_import_nothing: "Nothing was imported",
    adm_search_label: "Search employees",
    adm_search_placeholder: "Search by name, e-mail, extension or number",
    adm_bulk_grant: "Grant app access to selected",
    adm_bulk_revoke: "Revoke app access from selected",
    adm_col_select: "Select",
    adm_col_role: "Role",
    adm_col_access: "App access",
    adm_col_invitation: "Invitation",
    adm_remove_failed: "Could not remove the employee",
    adm_invite_failed: "Could not send the invitation",
    yes: "Yes",
    no: "No",
    adm_invite_active: "Active",
    adm_invite_invited: "Invited",
    adm_invite_none: "Not invited",
    adm_resend_invite: "Resend invitation",
    adm_save_changes: "Save changes",
    adm_add_employee: "Add employee",
    adm_edit_employee: "Edit employee",
    adm_ext_next_free: "next free",
    adm_role_user: "User",
    adm_role_admin: "Administrator",
    adm_access_check: "App access (sends an invitation e-mail)",
    adm_block_removed: "Number block removed.",
    adm_block_remove_failed: "Could not remove the number block",
    adm_no_blocks: "No number blocks yet.",
    adm_add_block_title: "Add a block",
    adm_first_number: "First number",
    adm_size: "Size",
    adm_first_ext_optional: "First extension (optional)",
    adm_first_ext: "First extension",
    adm_adding: "Adding…",
    adm_add_block: "Add block",
    adm_import_title: "Import employees from CSV",
    adm_import_hint: "The first row names the columns: name, email, and optionally extension, role (user or admin) and app_access (yes or no). Employees are matched by e-mail. Check first: nothing is written until Import, and nothing at all if a row has an error.",
    adm_csv_file: "CSV file",
    adm_csv_text: "CSV text",
    adm_check: "Check",
    adm_import_run: "Import",
    adm_file_unreadable: "The file could not be read.",
    adm_col_row: "Row",
    adm_col_action: "Action",
    adm_col_problems: "Problems",
    adm_action_new: "New",
    adm_action_update: "Update",
    adm_action_unchanged: "No change",
    adm_action_error: "Error",
    adm_name_missing: "Enter the name",
    adm_fix_fields: "Please correct the marked fields.",
    adm_block_first_missing: "Enter the first number of the block",
    adm_block_size_missing: "Enter how many numbers the block has",
    admin_tokens: "API tokens",
    tok_title: "API tokens",
    tok_hint: "A token lets a script or another system use the API as the administrator who made it, until it expires or is revoked. It stops working if its maker is no longer an administrator.",
    tok_name: "Token name",
    tok_days: "Days valid",
    tok_days_hint: "1 to 365 days; 90 if left empty.",
    tok_create: "Create token",
    tok_creating: "Creating…",
    tok_new_title: "New token",
    tok_secret: "The new token",
    tok_secret_once: "Copy this token now and keep it somewhere safe. It will not be shown again: if it is lost, revoke it and create a new one.",
    tok_copy: "Copy",
    tok_copied: "Copied to the clipboard.",
    tok_copy_failed: "Could not copy: select the token and copy it yourself.",
    tok_done: "Done, hide it",
    tok_col_created: "Created",
    tok_col_created_by: "Created by",
    tok_col_expires: "Expires",
    tok_col_last_used: "Last used",
    tok_never: "Never",
    tok_no_expiry: "Does not expire",
    tok_expired: "expired",
    tok_revoke: "Revoke",
    tok_none: "No API tokens yet.",
    tok_load_failed: "Could not load the API tokens",
    tok_revoke_failed: "Could not revoke the token",
    tok_name_missing: "Enter a name of 1 to 100 characters",
    tok_days_invalid: "Enter a whole number of days from 1 to 365",
    reg_online: |ext| format!("Online as extension {ext}"),
    reg_failed: |why| format!("Not registered: {why}"),
    no_phone_login: |why| format!("Cannot get your phone login: {why}"),
    end_failed: |code, words| {
        if words.trim().is_empty() {
            format!("Call failed: {code}")
        } else {
            words.to_string() // the user agent's words: "Call failed: 500 Server Error"
        }
    },
    media_denied: |video| {
        let what = if video {
            "camera and microphone"
        } else {
            "microphone"
        };
        format!("Access to the {what} was denied")
    },
    media_not_found: |video| {
        let what = if video {
            "camera and microphone"
        } else {
            "microphone"
        };
        format!("No {what} found")
    },
    media_in_use: |video| {
        let what = if video {
            "camera and microphone"
        } else {
            "microphone"
        };
        format!("The {what} is in use by another program")
    },
    media_other: |video, why| {
        let what = if video {
            "camera and microphone"
        } else {
            "microphone"
        };
        format!("Could not use the {what} ({why})")
    },
    media_unsupported: |why| format!("This browser cannot make calls ({why})"),
    media_remote_refused: |why| {
        format!("The other side's media description was not accepted ({why})")
    },
    media_prepare_detail: |why| format!("Could not prepare the call's media ({why})"),
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
    password_short: |n| format!("The password must have at least {n} characters"),
    setpw_title: |name, email| format!("Welcome, {name} — choose a password for {email}"),
    setpw_hint: |n| format!("At least {n} characters."),
    err_status: |status| format!("Something went wrong (error {status}). Please try again."),
    adm_count: |n| {
        if n == 1 {
            "1 employee".into()
        } else {
            format!("{n} employees")
        }
    },
    adm_access_granted: |n| {
        if n == 1 {
            "App access granted to 1 employee.".into()
        } else {
            format!("App access granted to {n} employees.")
        }
    },
    adm_access_revoked: |n| {
        if n == 1 {
            "App access revoked from 1 employee.".into()
        } else {
            format!("App access revoked from {n} employees.")
        }
    },
    adm_saved: |name| format!("{name} saved."),
    adm_added: |name| format!("{name} added."),
    adm_added_invited: |name, email| {
        format!("{name} added. An invitation was e-mailed to {email}.")
    },
    adm_confirm_remove: |name, ext| {
        format!("Remove {name} (extension {ext})? Their phone login stops working.")
    },
    adm_removed: |name| format!("{name} removed."),
    adm_invite_sent: |email| format!("Invitation sent to {email}."),
    adm_select: |name| format!("Select {name}"),
    adm_block_info: |size, ext| {
        if ext.is_empty() {
            format!("({size} numbers)")
        } else {
            format!("({size} numbers, extensions from {ext})")
        }
    },
    adm_import_summary: |dry_run, created, updated, unchanged, errors| {
        let verb = if dry_run { "Check" } else { "Imported" };
        format!(
            "{verb}: {created} new, {updated} updated, {unchanged} unchanged, {errors} with errors."
        )
    },
    tok_created: |name| format!("Token {name} created."),
    tok_confirm_revoke: |name| {
        format!("Revoke the token {name}? Scripts using it stop working at once.")
    },
    tok_revoked: |name| format!("Token {name} revoked."),
    tok_revoke_label: |name| format!("Revoke the token {name}"),
    dev_confirm_remove_this: "Remove this browser? You are logged out here at once, and logging in again makes it a new device.",
    cred_tls_proxy: "Over TLS (encrypted)",
    nav_devices: "Devices & forwarding",
    dev_title: "Your devices",
    dev_hint: "Where your extension is logged in now: browsers, desk phones and other SIP apps. Calls ring on all of them. Removing a device logs it out; a browser removed here has to log in again.",
    dev_admin_hint: "Where this extension is logged in now. Removing a device logs it out at once.",
    dev_none: "No device is registered now.",
    dev_kind_browser: "Browser",
    dev_kind_phone: "Phone",
    dev_unknown_phone: "Phone or SIP app",
    dev_web_app: "Centrala web app",
    dev_this: "This device",
    dev_default: "Default",
    dev_make_default: "Make default",
    dev_col_device: "Device",
    dev_col_connection: "Connection",
    dev_col_since: "Registered since",
    dev_col_seen: "Last seen",
    dev_encrypted: "encrypted",
    dev_locked: "Your administrator locked your extension: no new devices can be added.",
    dev_locked_admin: "The extension is locked: the devices above keep working, no new devices can be added.",
    dev_unlocked_admin: "New devices can be added to this extension.",
    dev_lock: "Lock extension",
    dev_unlock: "Unlock extension",
    dev_lock_done: "Extension locked: no new devices can be added.",
    dev_unlock_done: "Extension unlocked.",
    dev_lock_failed: "Could not change the lock",
    dev_load_failed: "Could not load the devices",
    dev_remove_failed: "Could not remove the device",
    dev_removed: "Device removed.",
    dev_default_failed: "Could not change the default device",
    dev_default_set: "Default device changed.",
    ring_title: "How your devices ring",
    ring_all: "Ring all my devices at once",
    ring_first_secs: "Seconds the default device rings alone",
    ring_first_hint: "1 to 60 seconds; 10 if left empty.",
    ring_no_default: "No device is the default yet: until you make one the default, all ring at once.",
    ring_secs_invalid: "Enter a whole number of seconds from 1 to 60",
    fwd_title: "Call forwarding",
    fwd_hint: "Where calls go when you cannot take them. Every rule is off until you choose where.",
    fwd_always: "Always (your devices do not ring)",
    fwd_busy: "When you are busy",
    fwd_no_answer: "When you do not answer",
    fwd_offline: "When you are offline (no device connected)",
    fwd_unavailable: "While on do not disturb or away",
    fwd_always_on: "Every call is forwarded now: your devices do not ring and the other rules wait.",
    fwd_off: "Off",
    fwd_colleague: "To a colleague",
    fwd_group: "To several colleagues at once",
    fwd_external: "To an external number",
    fwd_voicemail: "To voicemail",
    fwd_voicemail_note: "The caller hears your greeting for this situation and can leave a message; it waits under Voicemail and comes to you by e-mail.",
    fwd_where: "Colleague",
    fwd_choose: "Choose a colleague…",
    fwd_add_member: "Add a colleague…",
    fwd_group_hint: "They all ring together; the first to answer takes the call.",
    fwd_number: "Number",
    fwd_external_note: "The call goes out through the company's phone line and shows your number; it counts as your call (your permission and spending apply). Without a line, or beyond what you may call, this rule is skipped.",
    fwd_after: "After (seconds)",
    fwd_after_hint: "5 to 60 seconds; 20 if left empty.",
    fwd_saved: "Saved. Calls follow the new settings from now on.",
    fwd_load_failed: "Could not load the forwarding settings",
    fwd_pick_colleague: "Choose a colleague",
    fwd_pick_group: "Add 1 to 10 colleagues",
    fwd_number_invalid: "Enter the number in international form, such as +48 22 123 45 67",
    fwd_secs_invalid: "Enter a whole number of seconds from 5 to 60",
    cred_title: "Desk phones and other SIP apps",
    cred_hint: "A device login lets a desk phone or a softphone app register on this extension. Make one login per device, and revoke it when the device is gone: its devices are logged out at once.",
    cred_label: "Label (such as Desk phone)",
    cred_create: "Create a device login",
    cred_none: "No device logins yet.",
    cred_col_label: "Label",
    cred_col_username: "User name",
    cred_new_title: "New device login",
    cred_username: "User name (also the authentication user name)",
    cred_domain: "SIP domain",
    cred_proxy: "Outbound proxy and registrar",
    cred_transports: "Transport",
    cred_once: "Copy the password now: it is not shown again. If it is lost, revoke this login and create a new one.",
    cred_copy_failed: "Could not copy: select the password and copy it yourself.",
    cred_setup_title: "How to set up a desk phone",
    cred_step_open: "Open the phone's web page (its address is in the phone's network menu) or its Account menu, and add a SIP account.",
    cred_step_login: "User name and authentication user name: the user name above. Password: the password above.",
    cred_step_done: "Save. Within a minute the phone shows up among the devices above.",
    cred_label_missing: "Enter a label of 1 to 60 characters",
    cred_load_failed: "Could not load the device logins",
    cred_revoke_failed: "Could not revoke the device login",
    cred_full: "This is as many device logins as one person may have: revoke one to make another.",
    adm_back_to_employees: "Back to the employees",
    fwd_to_unknown: "Call forwarded…",
    end_loop: "Forwarding loop: the call could not be completed",
    end_elsewhere: "Answered on another device",
    end_transferred: "Call transferred",
    xfer_button: "Transfer",
    xfer_target_label: "Transfer to (number or extension)",
    xfer_blind: "Transfer now",
    xfer_consult: "Talk first",
    xfer_close: "Cancel",
    xfer_complete: "Complete transfer",
    xfer_back: "Back to the caller",
    xfer_drop_hint: "Drop a contact on the call to transfer it",
    xfer_requested: "Transferring to",
    xfer_ringing: "Ringing at",
    xfer_done: "Transferred to",
    xfer_failed: "Transfer failed",
    xfer_away: "You are being transferred to",
    xfer_consulting: "Consulting about the call with",
    xfer_invalid: "Enter a number or extension",
    dtmf_received_label: "Keys received",
    nav_voicemail: "Voicemail",
    vm_title: "Voicemail",
    vm_empty: "No messages.",
    vm_new: "New",
    vm_mark_heard: "Mark as heard",
    vm_mark_new: "Mark as new",
    vm_delete: "Delete",
    vm_download: "Download",
    adm_media_title: "Calls between browsers",
    adm_media_relay: "Send all call media through the gateway",
    adm_media_hint: "Calls normally go directly between browsers, and through the gateway only when they cannot reach each other. Turn this on if your network allows no direct connections, or to keep all call traffic on the gateway (it uses the server's bandwidth). It applies to new calls; browsers notice the change within 5 minutes.",
    adm_media_saved: "Saved.",
    adm_media_failed: "The setting could not be saved.",
    cl_title: "Calls outside the company",
    cl_company_hint: "What everyone may call unless set for them (on their Devices page), and the number people called see. Emergency numbers (112, 997, 998, 999) can always be called.",
    cl_person_hint: "This person's own settings; \u{201c}Company default\u{201d} follows the company's.",
    cl_permission: "May call",
    cl_perm_internal: "Colleagues only (and emergency numbers)",
    cl_perm_national: "Colleagues and numbers in Poland",
    cl_perm_international: "Also other countries",
    cl_premium: "Premium-rate numbers (70x)",
    cl_caller_id: "Number shown to the people called",
    cl_cid_own: "Their own number",
    cl_cid_main: "The company's main number",
    cl_cid_withheld: "Withheld",
    cl_main_number: "Main number (one of the company's numbers)",
    cl_main_ext: "Calls to the main number ring (an extension or a group)",
    cl_main_ext_hint: "One extension (its forwarding applies), or several separated by commas: they ring at once and the first to answer takes the call.",
    cl_company_default: "Company default",
    cl_allowed: "Allowed",
    cl_not_allowed: "Not allowed",
    cl_mobile: "Mobile number",
    cl_mobile_hint: "During a call, press *8 on the keypad to move the call to this mobile: it rings, and when you answer there the other person is with you on the mobile.",
    cl_save: "Save",
    cl_saved: "Saved.",
    cl_failed: "Could not save",
    cl_my_title: "Your mobile and calls outside",
    cl_you_may: "You may call",
    cl_suspended: "Calls outside the company are suspended after unusual international calls (possible toll fraud). Internal and emergency calls work.",
    cl_lift: "Lift the suspension",
    move_hint: "*8: your mobile rings now (the number set in Settings). Answer it there and the call moves to it; this one ends.",
    admin_costs: "Costs",
    cost_title: "Call costs",
    cost_month: "Month",
    cost_people: "Calls by person",
    cost_col_calls: "Calls",
    cost_col_time: "Billed time",
    cost_col_cost: "Cost",
    cost_col_flat: "Flat rate",
    cost_col_limit: "Monthly limit (PLN)",
    cost_flat_none: "None",
    cost_flat_landline: "Landlines",
    cost_flat_landline_mobile: "Landlines and mobiles",
    cost_total: "Total",
    cost_former: "Former employees",
    cost_statement: "Monthly statement",
    cost_download_csv: "Download CSV",
    cost_col_item: "Item",
    cost_col_quantity: "Quantity",
    cost_col_unit: "Unit price",
    cost_col_amount: "Amount",
    cost_item_subscription: "Subscriptions (extensions)",
    cost_item_numbers: "Public numbers (blocks of ten)",
    cost_limits_title: "Spend limits",
    cost_company_limit: "Company limit per month (PLN)",
    cost_person_limit: "Default limit per person per month (PLN)",
    cost_limits_hint: "Leave empty for no limit. At 80 % the administrators (and the person) get an e-mail; at 100 % only internal and emergency calls go through until the month ends.",
    cost_person_limit_hint: "Empty: the company's default limit.",
    cost_limit_invalid: "Write an amount in złoty, e.g. 150 or 150.50.",
    cost_save_limits: "Save limits",
    cost_saved: "Saved.",
    cost_save_failed: "Could not save",
    cost_my_title: "My call costs",
    cost_my_spent: "Spent this month",
    cost_no_limit: "No limit",
    cost_no_calls: "No calls to outside numbers in this month.",
    cost_col_number: "Number",
    cost_col_class: "Type",
    cost_unpriced: "not priced",
    cost_class: |c| match c {
        "landline" => "Landline".into(),
        "mobile" => "Mobile".into(),
        "toll_free" => "Freephone".into(),
        "premium" => "Premium rate".into(),
        "special" => "Special number".into(),
        "intl_freephone" => "International freephone".into(),
        "emergency" => "Emergency".into(),
        _ => match c.strip_prefix("intl_zone") {
            Some(z) => format!("International, zone {z}"),
            None => c.to_string(),
        },
    },
    cost_spent_of: |spent, limit, pct| format!("{spent} of {limit} ({pct} %)"),
    vm_pin_title: "Listening from another phone",
    vm_pin_hint: "On any company phone, dial *97, then your extension and #, then your PIN and #. Without a PIN, your messages play only on your own phones (dial *98).",
    vm_pin_label: "Voicemail PIN (4 to 10 digits)",
    vm_pin_save: "Save PIN",
    vm_pin_remove: "Remove PIN",
    vm_pin_is_set: "A PIN is set.",
    vm_pin_not_set: "No PIN is set.",
    vm_pin_saved: "PIN saved.",
    vm_pin_removed: "PIN removed: your messages play only on your own phones.",
    vm_pin_invalid: "The PIN must be 4 to 10 digits.",
    vm_pin_weak: "This PIN is too easy to guess (one digit repeated, a run like 1234, or your extension). Choose another.",
    vm_pin_failed: "The PIN could not be changed",
    vm_greetings_title: "Greetings",
    vm_greetings_hint: "What callers hear before they leave a message. Record one for each situation, or keep the built-in one.",
    vm_record: "Record",
    vm_stop: "Stop and save",
    vm_saving: "Saving…",
    vm_remove_greeting: "Use the built-in one",
    vm_builtin: "Built-in greeting",
    vm_situation_default: "Any other time",
    vm_situation_busy: "When I am busy",
    vm_situation_no_answer: "When I do not answer",
    vm_situation_offline: "When I am offline",
    vm_mic_refused: "The microphone is not available: allow it in the browser to record a greeting.",
    vm_record_failed: "The recording could not be saved",
    vm_load_failed: "Voicemail could not be loaded",
    vm_badge_label: "new voicemail messages",
    vm_col_from: "From",
    vm_col_when: "When",
    vm_col_length: "Length",
    vm_listen: "Listen",
    login_device_removed: "This device was removed from your account",
    phone_locked: "Your extension is locked: no new devices can be added. Ask your administrator.",
    phone_too_many: "Your extension has as many devices as it may: remove one under Devices & forwarding.",
    dir_forwarded: "Forwarded",
    why_always: "always",
    why_busy: "busy",
    why_no_answer: "no answer",
    why_offline: "offline",
    why_unavailable: "do not disturb or away",
    dev_web_app_in: |detail| format!("Centrala web app ({detail})"),
    dev_confirm_remove: |name| {
        format!("Remove {name}? It is logged out at once; a browser has to log in again.")
    },
    dev_remove_label: |name| format!("Remove {name}"),
    dev_default_label: |name| format!("Make {name} the default device"),
    dev_login: |login| format!("device login {login}"),
    dev_count: |n, max| {
        let devices = if n == 1 {
            "1 device".to_string()
        } else {
            format!("{n} devices")
        };
        if max == 0 {
            devices
        } else {
            format!("{devices} of at most {max}")
        }
    },
    ring_default_first: |secs| format!("Ring my default device first, the others after {secs} s"),
    fwd_remove_member: |name| format!("Remove {name} from the group"),
    cred_step_server: |domain, proxy, transport| {
        format!(
            "SIP server or domain: {domain}. Outbound proxy (registrar): {proxy}, transport {transport}."
        )
    },
    cred_created: |label| format!("Device login {label} created."),
    cred_confirm_revoke: |label| {
        format!("Revoke the device login {label}? Devices using it are logged out at once.")
    },
    cred_revoked: |label| format!("Device login {label} revoked."),
    cred_revoke_label: |label| format!("Revoke the device login {label}"),
    adm_devices_title: |name, ext| format!("Devices & forwarding: {name} ({ext})"),
    adm_devices_label: |name| format!("Devices and forwarding of {name}"),
    fwd_to: |who| format!("Forwarded to {who}"),
    waiting_from: |who| format!("Call waiting: {who}"),
    fwd_from: |who| format!("Forwarded from {who}"),
    hist_forwarded_to: |who, why| {
        if why.is_empty() {
            format!("forwarded to {who}")
        } else {
            format!("forwarded to {who} — {why}")
        }
    },
    hist_forwarded_from: |who, why| {
        if why.is_empty() {
            format!("forwarded from {who}")
        } else {
            format!("forwarded from {who} — {why}")
        }
    },
    device_switch_failed: |why| {
        format!("Could not switch the device ({why}): the call goes on with the previous one.")
    },
    speaker_failed: |why| {
        format!("Could not use the chosen speaker ({why}): the call plays on the default output.")
    },
    api_error: |code| {
        Some(match code {
            "invalid_credentials" => "Wrong e-mail or password.",
            "too_many_attempts" => {
                "Too many failed logins. Wait a few minutes, or use \"Forgot password\"."
            }
            "no_app_access" => "Your account has no access to the app. Ask your administrator.",
            "forbidden" => "Only administrators of the company may do this.",
            "forbidden_origin" => {
                "This request came from a page of another site; it is not allowed."
            }
            "busy" => "The server is busy; try again in a few seconds.",
            "internal" => "Something went wrong on the server; nothing was changed. Try again.",
            "link_used" => EN.link_used,
            "link_expired" => EN.link_expired,
            "link_not_found" => EN.link_invalid,
            "too_large" => "The file is larger than 2 MiB; split it and import the parts.",
            _ => return None,
        })
    },
    field_error: |_code, _field, server| server.to_string(),
};

pub static PL: Strings = Strings {
    loading: "Wczytywanie…",
    share_screen: "Udostępnij ekran",
    stop_sharing: "Zakończ udostępnianie",
    video_busy: "Zmiana obrazu…",
    remote_screen_label: "Udostępniony ekran",
    share_denied: "Odmówiono udostępnienia ekranu",
    share_unavailable: "Ta przeglądarka nie ma tu czego udostępnić (brak ekranu do przechwycenia)",
    share_unsupported: "Ta przeglądarka nie potrafi udostępniać ekranu",
    video_refused: "Druga strona nie przyjęła zmiany; rozmowa trwa jak dotąd",
    camera_denied: "Odmówiono dostępu do kamery",
    camera_not_found: "Nie znaleziono kamery",
    camera_in_use: "Kamera jest używana przez inny program",
    share_other: |why| format!("Nie można udostępnić ekranu ({why})"),
    camera_problem: |why| format!("Nie można włączyć kamery: {why}"),
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
    outcome_voicemail: "Poczta głosowa",
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
    hold: "Zawieś",
    resume: "Wznów",
    on_hold: "Zawieszona",
    held_by_peer: "Zawieszona przez rozmówcę",
    calls_label: "Połączenia",
    switch_call: "Przełącz na tę rozmowę",
    call_waiting_setting: "Połączenia oczekujące",
    call_waiting_hint: "Drugi dzwoniący słyszy sygnał, gdy rozmawiasz; wyłączone — słyszy zajętość.",
    keypad_show: "Klawiatura",
    keypad_hide: "Ukryj klawiaturę",
    keypad_label: "Klawiatura: tony wysyłane w rozmowie",
    dtmf_sent_label: "Wysłano:",
    dtmf_unavailable: "W tej rozmowie nie można wysyłać tonów klawiszy (DTMF): druga strona ich nie przyjęła.",
    devices_title: "Mikrofon, kamera i głośniki",
    mic_label: "Mikrofon",
    camera_label: "Kamera",
    speaker_label: "Głośnik rozmów",
    ringtone_label: "Wyjście dzwonka",
    device_default: "Domyślne",
    device_not_connected: "niepodłączone",
    devices_allow: "Zezwól i pokaż urządzenia",
    devices_allow_hint: "Przeglądarka pokaże nazwy urządzeń, gdy ta strona będzie mogła używać mikrofonu.",
    devices_denied: "Odmówiono dostępu do mikrofonu i kamery, więc przeglądarka nie podaje nazw urządzeń. Zezwól na to w ustawieniach witryny i spróbuj ponownie.",
    devices_unsupported: "Ta przeglądarka nie pokazuje tu urządzeń (potrzebne jest https).",
    speaker_unsupported_hint: "Ta przeglądarka nie pozwala wybrać głośnika rozmów: grają na domyślnym wyjściu systemu.",
    ringtone_unsupported_hint: "Ta przeglądarka nie pozwala wybrać wyjścia dzwonka: dzwoni na domyślnym wyjściu systemu.",
    unnamed_mic: "Mikrofon",
    unnamed_camera: "Kamera",
    unnamed_output: "Wyjście",
    mic_gone: "Wybrany mikrofon nie jest podłączony: używany jest mikrofon domyślny.",
    camera_gone: "Wybrana kamera nie jest podłączona: używana jest kamera domyślna.",
    speaker_gone: "Wybrany głośnik nie jest podłączony: rozmowa gra na domyślnym wyjściu.",
    ringer_gone: "Wybrane wyjście dzwonka nie jest podłączone: dzwoni na domyślnym wyjściu.",
    notify_title: "Połączenia w tle",
    notify_enable: "Powiadamiaj mnie o połączeniach w tle",
    notify_hint: "Gdy połączenie dzwoni, a ta karta jest ukryta, powiadomienie pozwala je odebrać lub odrzucić.",
    notify_granted: "Powiadomienia są włączone: połączenia dzwoniące w tle pokazują powiadomienie.",
    notify_denied: "Powiadomienia są zablokowane dla tej witryny. Zezwól na nie w ustawieniach witryny, aby dostawać powiadomienia o połączeniach.",
    notify_unsupported: "Ta przeglądarka nie może tu pokazywać powiadomień o połączeniach.",
    notify_incoming: "Połączenie przychodzące",
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
    end_you_hung_up: "Rozłączyłeś się",
    end_other_hung_up: "Rozmówca się rozłączył",
    end_missed: "Nieodebrane: dzwoniący się rozłączył",
    end_not_connected: "Brak połączenia z centralą",
    end_no_such_extension: "Nie ma takiego numeru",
    end_no_trunk: "Połączenia poza firmę nie są jeszcze skonfigurowane: brak linii do sieci telefonicznej.",
    end_no_trunk_emergency: "Numerów alarmowych nie można jeszcze stąd wybrać: brak linii do sieci telefonicznej. Użyj telefonu komórkowego lub stacjonarnego.",
    end_internal_only: "Twój telefon może dzwonić tylko wewnątrz firmy. Jeśli potrzebujesz połączeń na zewnątrz, zapytaj administratora.",
    end_no_international: "Połączenia międzynarodowe nie są dla Ciebie dozwolone. Jeśli ich potrzebujesz, zapytaj administratora.",
    end_no_premium: "Numery o podwyższonej opłacie nie są dla Ciebie dozwolone. Jeśli ich potrzebujesz, zapytaj administratora.",
    end_network_down: "Sieć telefoniczna nie odpowiada. Spróbuj ponownie za chwilę.",
    end_limit_reached: "Limit wydatków na połączenia w tym miesiącu został osiągnięty: przechodzą tylko połączenia wewnętrzne i alarmowe. Zapytaj administratora.",
    end_suspended: "Twoje połączenia poza firmę są wstrzymane po nietypowych połączeniach międzynarodowych. Zapytaj administratora.",
    end_unavailable: "Niedostępny: nikt nie jest zalogowany na tym numerze",
    end_busy: "Zajęte",
    end_declined: "Odrzucone",
    end_refused: "Centrala odmówiła połączenia",
    end_no_answer: "Brak odpowiedzi",
    end_cancelled: "Połączenie anulowane",
    phone_login_refused: "Centrala odrzuciła logowanie. Wyloguj się i zaloguj ponownie.",
    media_insecure: "Połączenia wymagają bezpiecznej strony (https), aby użyć mikrofonu",
    media_prepare: "Nie udało się przygotować mediów połączenia",
    email_placeholder: "imie@firma.pl",
    email_missing: "Wpisz adres e-mail",
    password_missing: "Wpisz hasło",
    passwords_differ: "Podane hasła nie są takie same",
    reset_sent: "Jeśli ten adres należy do konta z dostępem do aplikacji, wysłaliśmy na niego link do ustawienia nowego hasła. Sprawdź skrzynkę.",
    link_problem_title: "Tego linku nie można użyć",
    link_request_hint: "Wpisz swój adres e-mail, a wyślemy Ci nowy link.",
    link_request_submit: "Wyślij mi nowy link",
    back_to_login: "Wróć do logowania",
    link_checking: "Sprawdzanie linku…",
    new_password: "Nowe hasło",
    repeat_password: "Powtórz hasło",
    set_password_submit: "Ustaw hasło i zaloguj się",
    link_used: "Ten link został już użyty.",
    link_expired: "Ten link wygasł.",
    link_invalid: "Ten link jest nieprawidłowy.",
    link_gone: "Tego linku nie można już użyć.",
    err_offline: "Brak połączenia z serwerem. Sprawdź połączenie z internetem i spróbuj ponownie.",
    err_unreadable: "Nie udało się odczytać odpowiedzi serwera.",
    adm_panel: "Panel administracyjny",
    adm_load_employees_failed: "Nie udało się wczytać listy pracowników",
    adm_load_blocks_failed: "Nie udało się wczytać pul numerów",
    adm_access_failed: "Nie udało się zmienić dostępu do aplikacji",
    adm_block_added: "Dodano pulę numerów.",
    adm_import_nothing: "Niczego nie zaimportowano",
    adm_search_label: "Szukaj pracowników",
    adm_search_placeholder: "Szukaj po nazwisku, adresie e-mail, numerze wewnętrznym lub numerze",
    adm_bulk_grant: "Przyznaj zaznaczonym dostęp do aplikacji",
    adm_bulk_revoke: "Odbierz zaznaczonym dostęp do aplikacji",
    adm_col_select: "Zaznacz",
    adm_col_role: "Rola",
    adm_col_access: "Dostęp do aplikacji",
    adm_col_invitation: "Zaproszenie",
    adm_remove_failed: "Nie udało się usunąć pracownika",
    adm_invite_failed: "Nie udało się wysłać zaproszenia",
    yes: "Tak",
    no: "Nie",
    adm_invite_active: "Konto aktywne",
    adm_invite_invited: "Zaproszenie wysłane",
    adm_invite_none: "Bez zaproszenia",
    adm_resend_invite: "Wyślij zaproszenie ponownie",
    adm_save_changes: "Zapisz zmiany",
    adm_add_employee: "Dodaj pracownika",
    adm_edit_employee: "Edytuj dane pracownika",
    adm_ext_next_free: "następny wolny",
    adm_role_user: "Użytkownik",
    adm_role_admin: "Administrator",
    adm_access_check: "Dostęp do aplikacji (wysyła e-mail z zaproszeniem)",
    adm_block_removed: "Usunięto pulę numerów.",
    adm_block_remove_failed: "Nie udało się usunąć puli numerów",
    adm_no_blocks: "Nie ma jeszcze żadnych pul numerów.",
    adm_add_block_title: "Dodaj pulę",
    adm_first_number: "Pierwszy numer",
    adm_size: "Liczba numerów",
    adm_first_ext_optional: "Pierwszy numer wewnętrzny (opcjonalnie)",
    adm_first_ext: "Pierwszy numer wewnętrzny",
    adm_adding: "Dodawanie…",
    adm_add_block: "Dodaj pulę",
    adm_import_title: "Import pracowników z pliku CSV",
    adm_import_hint: "Pierwszy wiersz zawiera nazwy kolumn: name, email oraz opcjonalnie extension, role (user lub admin) i app_access (yes lub no). Pracownicy są rozpoznawani po adresie e-mail. Najpierw sprawdź plik: nic nie zostanie zapisane przed kliknięciem „Importuj”, a jeśli którykolwiek wiersz zawiera błąd, nie zostanie zapisane nic.",
    adm_csv_file: "Plik CSV",
    adm_csv_text: "Treść CSV",
    adm_check: "Sprawdź",
    adm_import_run: "Importuj",
    adm_file_unreadable: "Nie udało się odczytać pliku.",
    adm_col_row: "Wiersz",
    adm_col_action: "Działanie",
    adm_col_problems: "Problemy",
    adm_action_new: "Nowy",
    adm_action_update: "Zmiana",
    adm_action_unchanged: "Bez zmian",
    adm_action_error: "Błąd",
    adm_name_missing: "Wpisz imię i nazwisko",
    adm_fix_fields: "Popraw zaznaczone pola.",
    adm_block_first_missing: "Wpisz pierwszy numer puli",
    adm_block_size_missing: "Wpisz, ile numerów ma pula",
    admin_tokens: "Tokeny API",
    tok_title: "Tokeny API",
    tok_hint: "Token pozwala skryptowi lub innemu systemowi korzystać z API w imieniu administratora, który go utworzył, do czasu wygaśnięcia lub unieważnienia. Przestaje działać, gdy jego twórca przestanie być administratorem.",
    tok_name: "Nazwa tokenu",
    tok_days: "Ważność (dni)",
    tok_days_hint: "Od 1 do 365 dni; puste pole oznacza 90.",
    tok_create: "Utwórz token",
    tok_creating: "Tworzenie…",
    tok_new_title: "Nowy token",
    tok_secret: "Nowy token",
    tok_secret_once: "Skopiuj ten token teraz i przechowuj go w bezpiecznym miejscu. Nie zostanie pokazany ponownie: jeśli go zgubisz, unieważnij go i utwórz nowy.",
    tok_copy: "Kopiuj",
    tok_copied: "Skopiowano do schowka.",
    tok_copy_failed: "Nie udało się skopiować: zaznacz token i skopiuj go samodzielnie.",
    tok_done: "Gotowe, ukryj",
    tok_col_created: "Utworzono",
    tok_col_created_by: "Utworzył(a)",
    tok_col_expires: "Wygasa",
    tok_col_last_used: "Ostatnio użyty",
    tok_never: "Nigdy",
    tok_no_expiry: "Bezterminowo",
    tok_expired: "wygasł",
    tok_revoke: "Unieważnij",
    tok_none: "Nie ma jeszcze tokenów API.",
    tok_load_failed: "Nie udało się wczytać tokenów API",
    tok_revoke_failed: "Nie udało się unieważnić tokenu",
    tok_name_missing: "Wpisz nazwę (od 1 do 100 znaków)",
    tok_days_invalid: "Wpisz liczbę dni od 1 do 365",
    reg_online: |ext| format!("Połączono, numer wewnętrzny {ext}"),
    reg_failed: |why| format!("Brak rejestracji: {why}"),
    no_phone_login: |why| format!("Nie można pobrać danych logowania telefonu: {why}"),
    end_failed: |code, _| format!("Połączenie nieudane (kod {code})"),
    media_denied: |video| {
        if video {
            "Odmówiono dostępu do kamery i mikrofonu".into()
        } else {
            "Odmówiono dostępu do mikrofonu".into()
        }
    },
    media_not_found: |video| {
        if video {
            "Nie znaleziono kamery lub mikrofonu".into()
        } else {
            "Nie znaleziono mikrofonu".into()
        }
    },
    media_in_use: |video| {
        if video {
            "Kamera lub mikrofon są używane przez inny program".into()
        } else {
            "Mikrofon jest używany przez inny program".into()
        }
    },
    media_other: |video, why| {
        let what = if video {
            "kamery i mikrofonu"
        } else {
            "mikrofonu"
        };
        format!("Nie można użyć {what} ({why})")
    },
    media_unsupported: |why| format!("Ta przeglądarka nie obsługuje połączeń ({why})"),
    media_remote_refused: |why| format!("Opis mediów drugiej strony nie został przyjęty ({why})"),
    media_prepare_detail: |why| format!("Nie udało się przygotować mediów połączenia ({why})"),
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
    password_short: |n| format!("Hasło musi mieć co najmniej {n} znaków"),
    setpw_title: |name, email| format!("Witaj, {name}! Ustaw hasło do konta {email}"),
    setpw_hint: |n| format!("Co najmniej {n} znaków."),
    err_status: |status| format!("Coś poszło nie tak (błąd {status}). Spróbuj ponownie."),
    adm_count: |n| pl_plural(n, "pracownik", "pracowników", "pracowników"),
    adm_access_granted: |n| {
        format!(
            "Przyznano dostęp do aplikacji: {}.",
            pl_plural(n, "pracownik", "pracowników", "pracowników")
        )
    },
    adm_access_revoked: |n| {
        format!(
            "Odebrano dostęp do aplikacji: {}.",
            pl_plural(n, "pracownik", "pracowników", "pracowników")
        )
    },
    adm_saved: |name| format!("Zapisano zmiany: {name}."),
    adm_added: |name| format!("Dodano pracownika: {name}."),
    adm_added_invited: |name, email| {
        format!("Dodano pracownika: {name}. Zaproszenie wysłano na adres {email}.")
    },
    adm_confirm_remove: |name, ext| {
        format!(
            "Usunąć pracownika {name} (numer wewnętrzny {ext})? Ta osoba nie zaloguje się już do telefonu."
        )
    },
    adm_removed: |name| format!("Usunięto pracownika: {name}."),
    adm_invite_sent: |email| format!("Wysłano zaproszenie na adres {email}."),
    adm_select: |name| format!("Zaznacz: {name}"),
    adm_block_info: |size, ext| {
        let n = pl_plural(size, "numer", "numery", "numerów");
        if ext.is_empty() {
            format!("({n})")
        } else {
            format!("({n}, numery wewnętrzne od {ext})")
        }
    },
    adm_import_summary: |dry_run, created, updated, unchanged, errors| {
        let verb = if dry_run {
            "Sprawdzono"
        } else {
            "Zaimportowano"
        };
        format!(
            "{verb}: nowi: {created}, zmienieni: {updated}, bez zmian: {unchanged}, z błędami: {errors}."
        )
    },
    tok_created: |name| format!("Utworzono token {name}."),
    tok_confirm_revoke: |name| {
        format!("Unieważnić token {name}? Korzystające z niego skrypty od razu przestaną działać.")
    },
    tok_revoked: |name| format!("Unieważniono token {name}."),
    tok_revoke_label: |name| format!("Unieważnij token {name}"),
    dev_confirm_remove_this: "Usunąć tę przeglądarkę? Zostaniesz tu od razu wylogowany, a ponowne logowanie doda ją jako nowe urządzenie.",
    cred_tls_proxy: "Przez TLS (szyfrowane)",
    nav_devices: "Urządzenia i przekierowania",
    dev_title: "Twoje urządzenia",
    dev_hint: "Miejsca, w których Twój numer wewnętrzny jest teraz zalogowany: przeglądarki, telefony biurkowe i inne aplikacje SIP. Połączenia dzwonią na wszystkich. Usunięcie urządzenia wylogowuje je; usunięta tu przeglądarka musi zalogować się ponownie.",
    dev_admin_hint: "Miejsca, w których ten numer wewnętrzny jest teraz zalogowany. Usunięcie urządzenia od razu je wylogowuje.",
    dev_none: "Żadne urządzenie nie jest teraz zarejestrowane.",
    dev_kind_browser: "Przeglądarka",
    dev_kind_phone: "Telefon",
    dev_unknown_phone: "Telefon lub aplikacja SIP",
    dev_web_app: "Aplikacja Centrala w przeglądarce",
    dev_this: "To urządzenie",
    dev_default: "Domyślne",
    dev_make_default: "Ustaw jako domyślne",
    dev_col_device: "Urządzenie",
    dev_col_connection: "Połączenie",
    dev_col_since: "Zarejestrowane od",
    dev_col_seen: "Ostatnio widziane",
    dev_encrypted: "szyfrowane",
    dev_locked: "Administrator zablokował Twój numer wewnętrzny: nie można dodać nowych urządzeń.",
    dev_locked_admin: "Numer wewnętrzny jest zablokowany: powyższe urządzenia działają dalej, nie można dodać nowych.",
    dev_unlocked_admin: "Do tego numeru wewnętrznego można dodawać nowe urządzenia.",
    dev_lock: "Zablokuj numer",
    dev_unlock: "Odblokuj numer",
    dev_lock_done: "Numer zablokowany: nie można dodać nowych urządzeń.",
    dev_unlock_done: "Numer odblokowany.",
    dev_lock_failed: "Nie udało się zmienić blokady",
    dev_load_failed: "Nie udało się wczytać urządzeń",
    dev_remove_failed: "Nie udało się usunąć urządzenia",
    dev_removed: "Urządzenie usunięte.",
    dev_default_failed: "Nie udało się zmienić urządzenia domyślnego",
    dev_default_set: "Zmieniono urządzenie domyślne.",
    ring_title: "Jak dzwonią Twoje urządzenia",
    ring_all: "Dzwoń na wszystkich moich urządzeniach naraz",
    ring_first_secs: "Ile sekund dzwoni samo urządzenie domyślne",
    ring_first_hint: "Od 1 do 60 sekund; puste pole oznacza 10.",
    ring_no_default: "Żadne urządzenie nie jest jeszcze domyślne: dopóki nie wybierzesz domyślnego, dzwonią wszystkie naraz.",
    ring_secs_invalid: "Wpisz liczbę sekund od 1 do 60",
    fwd_title: "Przekierowanie połączeń",
    fwd_hint: "Dokąd trafiają połączenia, których nie możesz odebrać. Każda reguła jest wyłączona, dopóki nie wybierzesz, dokąd.",
    fwd_always: "Zawsze (Twoje urządzenia nie dzwonią)",
    fwd_busy: "Gdy masz zajęte",
    fwd_no_answer: "Gdy nie odbierasz",
    fwd_offline: "Gdy jesteś offline (żadne urządzenie nie jest połączone)",
    fwd_unavailable: "Gdy masz status „Nie przeszkadzać” lub „Zaraz wracam”",
    fwd_always_on: "Teraz każde połączenie jest przekierowywane: Twoje urządzenia nie dzwonią, a pozostałe reguły czekają.",
    fwd_off: "Wyłączone",
    fwd_colleague: "Do współpracownika",
    fwd_group: "Do kilku współpracowników naraz",
    fwd_external: "Na numer zewnętrzny",
    fwd_voicemail: "Na pocztę głosową",
    fwd_voicemail_note: "Dzwoniący usłyszy Twoje powitanie na tę sytuację i może zostawić wiadomość; czeka ona w Poczcie głosowej i przychodzi do Ciebie e-mailem.",
    fwd_where: "Osoba",
    fwd_choose: "Wybierz osobę…",
    fwd_add_member: "Dodaj osobę…",
    fwd_group_hint: "Dzwonią u wszystkich naraz; połączenie odbiera pierwsza osoba, która odbierze.",
    fwd_number: "Numer",
    fwd_external_note: "Połączenie wychodzi przez linię firmy z Twoim numerem i liczy się jako Twoje (obowiązują Twoje uprawnienia i limit). Bez linii albo poza Twoimi uprawnieniami ta reguła jest pomijana.",
    fwd_after: "Po (sekundach)",
    fwd_after_hint: "Od 5 do 60 sekund; puste pole oznacza 20.",
    fwd_saved: "Zapisano. Od teraz połączenia działają według nowych ustawień.",
    fwd_load_failed: "Nie udało się wczytać ustawień przekierowań",
    fwd_pick_colleague: "Wybierz współpracownika",
    fwd_pick_group: "Dodaj od 1 do 10 osób",
    fwd_number_invalid: "Wpisz numer w formacie międzynarodowym, np. +48 22 123 45 67",
    fwd_secs_invalid: "Wpisz liczbę sekund od 5 do 60",
    cred_title: "Telefony biurkowe i inne aplikacje SIP",
    cred_hint: "Login urządzenia pozwala telefonowi biurkowemu lub aplikacji SIP zarejestrować się na tym numerze wewnętrznym. Utwórz osobny login dla każdego urządzenia i unieważnij go, gdy urządzenie nie jest już używane: jego urządzenia zostaną od razu wylogowane.",
    cred_label: "Nazwa (np. Telefon na biurku)",
    cred_create: "Utwórz login urządzenia",
    cred_none: "Nie ma jeszcze loginów urządzeń.",
    cred_col_label: "Nazwa",
    cred_col_username: "Nazwa użytkownika",
    cred_new_title: "Nowy login urządzenia",
    cred_username: "Nazwa użytkownika (również do uwierzytelniania)",
    cred_domain: "Domena SIP",
    cred_proxy: "Serwer proxy i rejestrator",
    cred_transports: "Protokół transportowy",
    cred_once: "Skopiuj hasło teraz: nie zostanie pokazane ponownie. Jeśli je zgubisz, unieważnij ten login i utwórz nowy.",
    cred_copy_failed: "Nie udało się skopiować: zaznacz hasło i skopiuj je samodzielnie.",
    cred_setup_title: "Jak skonfigurować telefon biurkowy",
    cred_step_open: "Otwórz stronę telefonu (jej adres jest w menu sieci telefonu) lub menu Konto i dodaj konto SIP.",
    cred_step_login: "Nazwa użytkownika i nazwa do uwierzytelniania: nazwa użytkownika powyżej. Hasło: hasło powyżej.",
    cred_step_done: "Zapisz. W ciągu minuty telefon pojawi się na liście urządzeń powyżej.",
    cred_label_missing: "Wpisz nazwę od 1 do 60 znaków",
    cred_load_failed: "Nie udało się wczytać loginów urządzeń",
    cred_revoke_failed: "Nie udało się unieważnić loginu urządzenia",
    cred_full: "To najwięcej loginów urządzeń, ile może mieć jedna osoba: unieważnij któryś, aby utworzyć nowy.",
    adm_back_to_employees: "Wróć do listy pracowników",
    fwd_to_unknown: "Połączenie przekierowane…",
    end_loop: "Pętla przekierowań: nie można zrealizować połączenia",
    end_elsewhere: "Odebrano na innym urządzeniu",
    end_transferred: "Połączenie przekazane",
    xfer_button: "Przekaż",
    xfer_target_label: "Przekaż do (numer lub wewnętrzny)",
    xfer_blind: "Przekaż teraz",
    xfer_consult: "Najpierw porozmawiaj",
    xfer_close: "Anuluj",
    xfer_complete: "Dokończ przekazanie",
    xfer_back: "Wróć do rozmówcy",
    xfer_drop_hint: "Upuść kontakt na rozmowę, by ją przekazać",
    xfer_requested: "Przekazywanie do",
    xfer_ringing: "Dzwoni u",
    xfer_done: "Przekazano do",
    xfer_failed: "Przekazanie nieudane",
    xfer_away: "Jesteś przekazywany do",
    xfer_consulting: "Konsultacja w sprawie rozmowy z",
    xfer_invalid: "Wpisz numer lub wewnętrzny",
    dtmf_received_label: "Odebrane klawisze",
    nav_voicemail: "Poczta głosowa",
    vm_title: "Poczta głosowa",
    vm_empty: "Brak wiadomości.",
    vm_new: "Nowa",
    vm_mark_heard: "Oznacz jako odsłuchaną",
    vm_mark_new: "Oznacz jako nową",
    vm_delete: "Usuń",
    vm_download: "Pobierz",
    adm_media_title: "Rozmowy między przeglądarkami",
    adm_media_relay: "Przesyłaj cały dźwięk i obraz rozmów przez bramkę",
    adm_media_hint: "Rozmowy zwykle idą bezpośrednio między przeglądarkami, a przez bramkę tylko wtedy, gdy przeglądarki nie mogą się połączyć. Włącz, jeśli sieć nie pozwala na bezpośrednie połączenia albo cały ruch rozmów ma iść przez bramkę (zużywa to łącze serwera). Dotyczy nowych rozmów; przeglądarki zauważą zmianę w ciągu 5 minut.",
    adm_media_saved: "Zapisano.",
    adm_media_failed: "Nie udało się zapisać ustawienia.",
    cl_title: "Połączenia poza firmę",
    cl_company_hint: "Dokąd każdy może dzwonić, jeśli nie ustawiono tego dla niego (na jego stronie Urządzenia), i jaki numer widzą osoby, do których dzwoni. Numery alarmowe (112, 997, 998, 999) działają zawsze.",
    cl_person_hint: "Ustawienia tej osoby; \u{201e}Domyślne firmy\u{201d} oznacza ustawienie firmy.",
    cl_permission: "Może dzwonić",
    cl_perm_internal: "Tylko do współpracowników (i na numery alarmowe)",
    cl_perm_national: "Do współpracowników i na numery w Polsce",
    cl_perm_international: "Także za granicę",
    cl_premium: "Numery o podwyższonej opłacie (70x)",
    cl_caller_id: "Numer widoczny dla rozmówców",
    cl_cid_own: "Własny numer",
    cl_cid_main: "Główny numer firmy",
    cl_cid_withheld: "Zastrzeżony",
    cl_main_number: "Numer główny (jeden z numerów firmy)",
    cl_main_ext: "Połączenia na numer główny dzwonią na (numer wewnętrzny lub grupę)",
    cl_main_ext_hint: "Jeden numer wewnętrzny (działa jego przekierowanie) albo kilka po przecinku: dzwonią naraz, a rozmowę odbiera ten, kto pierwszy podniesie słuchawkę.",
    cl_company_default: "Domyślne firmy",
    cl_allowed: "Dozwolone",
    cl_not_allowed: "Niedozwolone",
    cl_mobile: "Numer komórkowy",
    cl_mobile_hint: "W trakcie rozmowy naciśnij *8 na klawiaturze, aby przenieść rozmowę na tę komórkę: zadzwoni, a gdy odbierzesz, rozmówca będzie z Tobą na komórce.",
    cl_save: "Zapisz",
    cl_saved: "Zapisano.",
    cl_failed: "Nie udało się zapisać",
    cl_my_title: "Twoja komórka i połączenia poza firmę",
    cl_you_may: "Możesz dzwonić",
    cl_suspended: "Połączenia poza firmę są wstrzymane po nietypowych połączeniach międzynarodowych (możliwe nadużycie). Połączenia wewnętrzne i alarmowe działają.",
    cl_lift: "Zdejmij blokadę",
    move_hint: "*8: dzwoni teraz Twoja komórka (numer z Ustawień). Odbierz na niej, a rozmowa przejdzie na nią; ta się zakończy.",
    admin_costs: "Koszty",
    cost_title: "Koszty połączeń",
    cost_month: "Miesiąc",
    cost_people: "Połączenia według osób",
    cost_col_calls: "Połączenia",
    cost_col_time: "Naliczony czas",
    cost_col_cost: "Koszt",
    cost_col_flat: "Abonament na połączenia",
    cost_col_limit: "Limit miesięczny (zł)",
    cost_flat_none: "Brak",
    cost_flat_landline: "Stacjonarne",
    cost_flat_landline_mobile: "Stacjonarne i komórkowe",
    cost_total: "Razem",
    cost_former: "Byli pracownicy",
    cost_statement: "Zestawienie miesięczne",
    cost_download_csv: "Pobierz CSV",
    cost_col_item: "Pozycja",
    cost_col_quantity: "Ilość",
    cost_col_unit: "Cena jednostkowa",
    cost_col_amount: "Kwota",
    cost_item_subscription: "Abonamenty (numery wewnętrzne)",
    cost_item_numbers: "Numery publiczne (bloki po dziesięć)",
    cost_limits_title: "Limity wydatków",
    cost_company_limit: "Limit firmy na miesiąc (zł)",
    cost_person_limit: "Domyślny limit na osobę na miesiąc (zł)",
    cost_limits_hint: "Zostaw puste, jeśli bez limitu. Przy 80 % administratorzy (i dana osoba) dostają e-mail; po osiągnięciu 100 % do końca miesiąca przechodzą tylko połączenia wewnętrzne i alarmowe.",
    cost_person_limit_hint: "Puste: domyślny limit firmy.",
    cost_limit_invalid: "Wpisz kwotę w złotych, np. 150 albo 150,50.",
    cost_save_limits: "Zapisz limity",
    cost_saved: "Zapisano.",
    cost_save_failed: "Nie udało się zapisać",
    cost_my_title: "Moje koszty połączeń",
    cost_my_spent: "Wydane w tym miesiącu",
    cost_no_limit: "Bez limitu",
    cost_no_calls: "Brak połączeń z numerami zewnętrznymi w tym miesiącu.",
    cost_col_number: "Numer",
    cost_col_class: "Rodzaj",
    cost_unpriced: "bez ceny",
    cost_class: |c| match c {
        "landline" => "Stacjonarne".into(),
        "mobile" => "Komórkowe".into(),
        "toll_free" => "Bezpłatna infolinia".into(),
        "premium" => "Numer o podwyższonej opłacie".into(),
        "special" => "Numer specjalny".into(),
        "intl_freephone" => "Międzynarodowa infolinia bezpłatna".into(),
        "emergency" => "Alarmowe".into(),
        _ => match c.strip_prefix("intl_zone") {
            Some(z) => format!("Międzynarodowe, strefa {z}"),
            None => c.to_string(),
        },
    },
    cost_spent_of: |spent, limit, pct| format!("{spent} z {limit} ({pct} %)"),
    vm_pin_title: "Odsłuch z innego telefonu",
    vm_pin_hint: "Na dowolnym telefonie firmy wybierz *97, potem swój numer wewnętrzny i krzyżyk, potem PIN i krzyżyk. Bez PIN-u wiadomości odsłuchasz tylko na swoich telefonach (*98).",
    vm_pin_label: "PIN poczty głosowej (od 4 do 10 cyfr)",
    vm_pin_save: "Zapisz PIN",
    vm_pin_remove: "Usuń PIN",
    vm_pin_is_set: "PIN jest ustawiony.",
    vm_pin_not_set: "PIN nie jest ustawiony.",
    vm_pin_saved: "PIN zapisany.",
    vm_pin_removed: "PIN usunięty: wiadomości odsłuchasz tylko na swoich telefonach.",
    vm_pin_invalid: "PIN musi mieć od 4 do 10 cyfr.",
    vm_pin_weak: "Ten PIN łatwo odgadnąć (jedna cyfra powtórzona, ciąg jak 1234 albo twój numer wewnętrzny). Wybierz inny.",
    vm_pin_failed: "Nie udało się zmienić PIN-u",
    vm_greetings_title: "Powitania",
    vm_greetings_hint: "To słyszą dzwoniący, zanim zostawią wiadomość. Nagraj powitanie dla każdej sytuacji albo zostaw wbudowane.",
    vm_record: "Nagraj",
    vm_stop: "Zatrzymaj i zapisz",
    vm_saving: "Zapisywanie…",
    vm_remove_greeting: "Użyj wbudowanego",
    vm_builtin: "Powitanie wbudowane",
    vm_situation_default: "W pozostałych sytuacjach",
    vm_situation_busy: "Gdy rozmawiam",
    vm_situation_no_answer: "Gdy nie odbieram",
    vm_situation_offline: "Gdy jestem niedostępny",
    vm_mic_refused: "Mikrofon jest niedostępny: zezwól na niego w przeglądarce, aby nagrać powitanie.",
    vm_record_failed: "Nie udało się zapisać nagrania",
    vm_load_failed: "Nie udało się wczytać poczty głosowej",
    vm_badge_label: "nowe wiadomości głosowe",
    vm_col_from: "Od",
    vm_col_when: "Kiedy",
    vm_col_length: "Długość",
    vm_listen: "Odsłuchaj",
    login_device_removed: "To urządzenie zostało usunięte z Twojego konta",
    phone_locked: "Twój numer wewnętrzny jest zablokowany: nie można dodać nowych urządzeń. Poproś administratora.",
    phone_too_many: "Twój numer wewnętrzny ma już najwięcej urządzeń, ile może: usuń któreś w zakładce Urządzenia i przekierowania.",
    dir_forwarded: "Przekierowane",
    why_always: "zawsze",
    why_busy: "zajęte",
    why_no_answer: "brak odpowiedzi",
    why_offline: "poza siecią",
    why_unavailable: "nie przeszkadzać lub zaraz wracam",
    dev_web_app_in: |detail| format!("Aplikacja Centrala w przeglądarce ({detail})"),
    dev_confirm_remove: |name| {
        format!(
            "Usunąć urządzenie {name}? Zostanie od razu wylogowane; przeglądarka będzie musiała zalogować się ponownie."
        )
    },
    dev_remove_label: |name| format!("Usuń urządzenie {name}"),
    dev_default_label: |name| format!("Ustaw {name} jako urządzenie domyślne"),
    dev_login: |login| format!("login urządzenia {login}"),
    dev_count: |n, max| {
        let devices = pl_plural(n, "urządzenie", "urządzenia", "urządzeń");
        if max == 0 {
            devices
        } else {
            format!("{devices} (najwyżej {max})")
        }
    },
    ring_default_first: |secs| {
        format!("Najpierw dzwoń na urządzeniu domyślnym, na pozostałych po {secs} s")
    },
    fwd_remove_member: |name| format!("Usuń osobę {name} z grupy"),
    cred_step_server: |domain, proxy, transport| {
        format!(
            "Serwer SIP lub domena: {domain}. Serwer proxy (rejestrator): {proxy}, protokół {transport}."
        )
    },
    cred_created: |label| format!("Utworzono login urządzenia {label}."),
    cred_confirm_revoke: |label| {
        format!(
            "Unieważnić login urządzenia {label}? Urządzenia, które go używają, zostaną od razu wylogowane."
        )
    },
    cred_revoked: |label| format!("Unieważniono login urządzenia {label}."),
    cred_revoke_label: |label| format!("Unieważnij login urządzenia {label}"),
    adm_devices_title: |name, ext| format!("Urządzenia i przekierowania: {name} ({ext})"),
    adm_devices_label: |name| format!("Urządzenia i przekierowania: {name}"),
    fwd_to: |who| format!("Przekierowano do: {who}"),
    waiting_from: |who| format!("Oczekuje: {who}"),
    fwd_from: |who| format!("Przekierowane od: {who}"),
    hist_forwarded_to: |who, why| {
        if why.is_empty() {
            format!("przekierowane do: {who}")
        } else {
            format!("przekierowane do: {who} — {why}")
        }
    },
    hist_forwarded_from: |who, why| {
        if why.is_empty() {
            format!("przekierowane od: {who}")
        } else {
            format!("przekierowane od: {who} — {why}")
        }
    },
    device_switch_failed: |why| {
        format!("Nie udało się przełączyć urządzenia ({why}): rozmowa trwa z poprzednim.")
    },
    speaker_failed: |why| {
        format!("Nie można użyć wybranego głośnika ({why}): rozmowa gra na domyślnym wyjściu.")
    },
    api_error: |code| {
        Some(match code {
            "invalid_credentials" => "Nieprawidłowy adres e-mail lub hasło.",
            "too_many_attempts" => {
                "Zbyt wiele nieudanych prób logowania. Odczekaj kilka minut albo użyj opcji „Nie pamiętasz hasła?”."
            }
            "no_app_access" => {
                "Twoje konto nie ma dostępu do aplikacji. Zwróć się do administratora."
            }
            "forbidden" => "Tylko administratorzy firmy mogą to zrobić.",
            "forbidden_origin" => {
                "To żądanie pochodzi ze strony innej witryny i jest niedozwolone."
            }
            "busy" => "Serwer jest przeciążony. Spróbuj ponownie za kilka sekund.",
            "internal" => "Wystąpił błąd serwera; niczego nie zmieniono. Spróbuj ponownie.",
            "link_used" => PL.link_used,
            "link_expired" => PL.link_expired,
            "link_not_found" => PL.link_invalid,
            "too_large" => "Plik jest większy niż 2 MiB. Podziel go i zaimportuj w częściach.",
            // The server's English names the thing; these say it in Polish, less precisely.
            "unauthenticated" => PL.session_ended,
            "not_found" => "Nie znaleziono: mogło już zostać usunięte. Odśwież widok.",
            "mail_failed" => {
                "Nie udało się wysłać e-maila. Sprawdź ustawienia poczty i spróbuj ponownie."
            }
            "limit_reached" => "Osiągnięto limit. Najpierw usuń część wpisów.",
            "unsupported_media_type" => "Nieobsługiwany format pliku: wybierz vCard lub CSV.",
            _ => return None,
        })
    },
    field_error: |code, field, server| {
        let words = match (code, field) {
            ("conflict", "extension") => "ten numer wewnętrzny jest już zajęty",
            ("conflict", "email") => "ten adres e-mail należy już do innego konta",
            ("conflict", "first_number") => "te numery należą już do innej puli",
            (_, "name") => "wpisz imię i nazwisko (od 1 do 100 znaków)",
            (_, "email") => "podaj poprawny adres e-mail (jest potrzebny do wysłania zaproszenia)",
            (_, "extension") => "podaj wolny numer wewnętrzny o liczbie cyfr takiej jak pozostałe",
            (_, "first_number") => {
                "podaj pierwszy numer w formacie międzynarodowym, np. +48 22 600 61 00"
            }
            (_, "size") => {
                "pula może mieć od 1 do 10 000 numerów i nie może wyjść poza zakres numerów wewnętrznych"
            }
            (_, "first_extension") => "podaj poprawny, wolny numer wewnętrzny",
            (_, "token_name") => "wpisz nazwę tokenu (od 1 do 100 znaków)",
            (_, "expires_in_days") => "token może być ważny od 1 do 365 dni",
            (_, "password") => {
                "hasło jest za słabe: użyj co najmniej 10 różnych znaków, bez imienia i adresu e-mail"
            }
            (_, "ids") => "zaznacz od 1 do 1000 pracowników; każdy musi mieć adres e-mail",
            (_, "csv") => {
                "nie udało się odczytać CSV: pierwszy wiersz musi zawierać kolumny name i email (opcjonalnie extension, role, app_access)"
            }
            (_, "label") => "wpisz nazwę od 1 do 60 znaków",
            (_, "no_answer.after_secs") => "od 5 do 60 sekund",
            (_, "ring_first_secs") => "od 1 do 60 sekund",
            (_, "id") => "tego urządzenia nie ma już na liście zarejestrowanych",
            (_, "always" | "busy" | "no_answer.target" | "offline" | "unavailable") => {
                let s = server.to_ascii_lowercase();
                if s.contains("own extension") {
                    "nie można przekierować połączeń na własny numer"
                } else if s.contains("international") {
                    "wpisz numer w formacie międzynarodowym, np. +48 22 123 45 67"
                } else if s.contains("group") {
                    "grupa może mieć od 1 do 10 osób"
                } else if s.contains("digits")
                    || s.contains("exist")
                    || s.contains("no such")
                    || s.contains("in your company")
                {
                    "nie ma takiego numeru wewnętrznego w firmie"
                } else {
                    return server.to_string();
                }
            }
            _ => return server.to_string(),
        };
        words.to_string()
    },
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
            Outcome::Voicemail => self.outcome_voicemail,
        }
    }

    /// A history row's kind: missed, outgoing or incoming.
    pub fn direction(&self, d: Direction, missed: bool) -> &'static str {
        match (d, missed) {
            (Direction::Forwarded, _) => self.dir_forwarded,
            (_, true) => self.dir_missed,
            (Direction::Outgoing, _) => self.dir_outgoing,
            (Direction::Incoming, _) => self.dir_incoming,
        }
    }

    /// A failed API call for a person: by the stable `error` code when this language knows
    /// it, else by field (the field's name, then its problem), else the server's message.
    pub fn problem(&self, p: &Problem) -> String {
        if p.status == 0 {
            return self.err_offline.to_string();
        }
        if let Some(words) = (self.api_error)(&p.code) {
            return words.to_string();
        }
        if !p.fields.is_empty() {
            return self
                .field_lines(&p.code, &p.fields)
                .into_iter()
                .map(|(_, line)| line)
                .collect::<Vec<_>>()
                .join("; ");
        }
        if p.message.trim().is_empty() {
            (self.err_status)(p.status)
        } else {
            p.message.clone()
        }
    }

    /// "E-mail: already used" for each (field, server's words) of an answer with `code`.
    pub fn field_lines(&self, code: &str, fields: &[(String, String)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(f, m)| {
                let line = format!(
                    "{}: {}",
                    self.field_label(f),
                    (self.field_error)(code, f, m)
                );
                (f.clone(), line)
            })
            .collect()
    }

    /// A set-password link's problem in plain words, for 404 and 410 answers.
    pub fn link_problem(&self, p: &Problem) -> Option<&'static str> {
        Some(match (p.status, p.code.as_str()) {
            (_, "link_used") => self.link_used,
            (_, "link_expired") => self.link_expired,
            (_, "link_not_found") | (404, _) => self.link_invalid,
            (410, _) => self.link_gone,
            _ => return None,
        })
    }

    /// A field's name as the forms show it.
    pub fn field_label(&self, field: &str) -> String {
        let known = match field {
            "name" => self.field_name,
            "email" => self.field_email,
            "extension" => self.field_extension,
            "role" => self.adm_col_role,
            "app_access" => self.adm_col_access,
            "password" => self.password,
            "first_number" => self.adm_first_number,
            "size" => self.adm_size,
            "first_extension" => self.adm_first_ext,
            "csv" => "CSV",
            "token_name" => self.tok_name,
            "expires_in_days" => self.tok_days,
            "label" => self.cred_col_label,
            "id" => self.dev_col_device,
            "always" => self.fwd_always,
            "busy" => self.fwd_busy,
            "no_answer" | "no_answer.target" => self.fwd_no_answer,
            "no_answer.after_secs" => self.fwd_after,
            "offline" => self.fwd_offline,
            "unavailable" => self.fwd_unavailable,
            "ring_first_secs" => self.ring_first_secs,
            other => {
                let mut s = other.replace('_', " ");
                if let Some(c) = s.get_mut(0..1) {
                    c.make_ascii_uppercase();
                }
                return s;
            }
        };
        known.to_string()
    }

    /// An employee's invitation state ("not_invited", "invited", "active") in words.
    pub fn invite_state(&self, state: &str) -> &'static str {
        match state {
            "active" => self.adm_invite_active,
            "invited" => self.adm_invite_invited,
            _ => self.adm_invite_none,
        }
    }

    /// A role ("user", "admin") in words.
    pub fn role(&self, role: &str) -> &'static str {
        if role == "admin" {
            self.adm_role_admin
        } else {
            self.adm_role_user
        }
    }

    /// What an import does with a row ("create", "update", "unchanged", "error").
    pub fn import_action(&self, action: &str) -> &'static str {
        match action {
            "create" => self.adm_action_new,
            "update" => self.adm_action_update,
            "unchanged" => self.adm_action_unchanged,
            "error" => self.adm_action_error,
            _ => "?",
        }
    }

    /// Why a call ended, in words: by its cause, and for a SIP failure by the status code
    /// (the user agent's English words only for a status this table has no words for).
    pub fn end_reason(&self, r: &EndReason) -> String {
        let words = match r {
            EndReason::YouHungUp => self.end_you_hung_up,
            EndReason::OtherHungUp => self.end_other_hung_up,
            EndReason::Missed => self.end_missed,
            EndReason::ConnectionLost => self.connection_lost,
            EndReason::NotConnected => self.end_not_connected,
            EndReason::Status { code, words } => match code {
                404 => self.end_no_such_extension,
                // The gateway's words for a number outside the company (no trunk yet).
                403 if words.contains("emergency call: no line to the phone network") => {
                    self.end_no_trunk_emergency
                }
                403 if words.contains("no line to the phone network") => self.end_no_trunk,
                // The gateway's words for a call the person's permission does not allow.
                403 if words.contains("your calls are internal only") => self.end_internal_only,
                403 if words.contains("international calls are not allowed") => {
                    self.end_no_international
                }
                403 if words.contains("premium-rate numbers are not allowed") => {
                    self.end_no_premium
                }
                503 if words.contains("phone network does not answer") => self.end_network_down,
                403 if words.contains("spending limit is reached") => self.end_limit_reached,
                403 if words.contains("suspended after unusual international calls") => {
                    self.end_suspended
                }
                480 => self.end_unavailable,
                486 | 600 => self.end_busy,
                603 => self.end_declined,
                401 | 403 | 407 => self.end_refused,
                408 => self.end_no_answer,
                487 => self.end_cancelled,
                482 => self.end_loop,
                _ => return (self.end_failed)(*code, words),
            },
            EndReason::Media(e) => return self.media_error(e),
            EndReason::AnsweredElsewhere => self.end_elsewhere,
            EndReason::Transferred => self.end_transferred,
        };
        words.to_string()
    }

    /// Why the microphone, camera or the call's media failed, in words.
    pub fn media_error(&self, e: &MediaError) -> String {
        match e {
            MediaError::Insecure => self.media_insecure.to_string(),
            MediaError::Denied { video } => (self.media_denied)(*video),
            MediaError::NotFound { video } => (self.media_not_found)(*video),
            MediaError::InUse { video } => (self.media_in_use)(*video),
            MediaError::Other { video, detail } => (self.media_other)(*video, detail),
            MediaError::Unsupported(detail) => (self.media_unsupported)(detail),
            MediaError::RemoteRefused(detail) => (self.media_remote_refused)(detail),
            MediaError::Prepare(None) => self.media_prepare.to_string(),
            MediaError::Prepare(Some(detail)) => (self.media_prepare_detail)(detail),
        }
    }

    /// Why the phone is not registered, in words.
    pub fn phone_notice(&self, n: &PhoneNotice) -> String {
        match n {
            PhoneNotice::LoginRefused => self.phone_login_refused.to_string(),
            PhoneNotice::NoCredentials(p) => (self.no_phone_login)(&self.problem(p)),
            PhoneNotice::Other(words) => words.clone(),
            PhoneNotice::ExtensionLocked => self.phone_locked.to_string(),
            PhoneNotice::TooManyDevices => self.phone_too_many.to_string(),
        }
    }

    /// Why the login form shows, in words.
    pub fn login_notice(&self, n: LoginNotice) -> &'static str {
        match n {
            LoginNotice::DeviceRemoved => self.login_device_removed,
        }
    }

    /// Why a call was forwarded (the history's `diversion`), in a few words; "" when unknown.
    pub fn diversion(&self, why: Option<&str>) -> &'static str {
        match why.unwrap_or("") {
            "always" => self.why_always,
            "busy" => self.why_busy,
            "no_answer" => self.why_no_answer,
            "offline" => self.why_offline,
            "unavailable" => self.why_unavailable,
            _ => "",
        }
    }

    /// A transport ("udp", "tls", "wss"...) as the devices list shows it.
    pub fn transport(&self, t: &str) -> String {
        let up = t.to_ascii_uppercase();
        let name = match up.as_str() {
            "WS" | "WSS" => "WebSocket".to_string(),
            "" => "—".to_string(),
            _ => up.clone(),
        };
        if matches!(up.as_str(), "TLS" | "WSS") {
            format!("{name} ({})", self.dev_encrypted)
        } else {
            name
        }
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
            same.iter().all(|k| [
                "col_status",
                "email",
                "field_email",
                "admin_import",
                "adm_role_admin",
            ]
            .contains(k)),
            "untranslated: {same:?}"
        );
        let all: String = pl.iter().map(|(_, t)| *t).collect();
        for letter in ['ą', 'ę', 'ł', 'ó', 'ś', 'ż', 'ń', 'ć'] {
            assert!(all.contains(letter), "no {letter}");
        }
    }

    #[test]
    fn functions_fill_in_values() {
        let mut outputs = Vec::new();
        for lang in Lang::ALL {
            let t = lang.t();
            let all = [
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
                (t.password_short)(10),
                (t.setpw_title)("Ala", "ala@example.com"),
                (t.setpw_hint)(10),
                (t.err_status)(502),
                (t.adm_count)(2),
                (t.adm_access_granted)(2),
                (t.adm_access_revoked)(1),
                (t.adm_saved)("Ala"),
                (t.adm_added)("Ala"),
                (t.adm_added_invited)("Ala", "ala@example.com"),
                (t.adm_confirm_remove)("Ala", "101"),
                (t.adm_removed)("Ala"),
                (t.adm_invite_sent)("ala@example.com"),
                (t.adm_select)("Ala"),
                (t.adm_block_info)(10, "200"),
                (t.adm_import_summary)(true, 1, 2, 3, 4),
                (t.tok_created)("CRM"),
                (t.tok_confirm_revoke)("CRM"),
                (t.tok_revoked)("CRM"),
                (t.tok_revoke_label)("CRM"),
                (t.no_phone_login)("x"),
                (t.end_failed)(500, "Call failed: 500 Oops"),
                (t.media_denied)(true),
                (t.media_not_found)(false),
                (t.media_in_use)(true),
                (t.media_other)(false, "x"),
                (t.media_unsupported)("x"),
                (t.media_remote_refused)("x"),
                (t.media_prepare_detail)("x"),
                (t.dev_web_app_in)("Firefox, Linux"),
                (t.dev_confirm_remove)("Ala"),
                (t.dev_remove_label)("Ala"),
                (t.dev_default_label)("Ala"),
                (t.dev_login)("dk3m9x2qa7"),
                (t.dev_count)(2, 9),
                (t.ring_default_first)("10"),
                (t.fwd_remove_member)("Ala"),
                (t.cred_step_server)("acme.example", "gw:5060", "UDP"),
                (t.cred_created)("Desk"),
                (t.cred_confirm_revoke)("Desk"),
                (t.cred_revoked)("Desk"),
                (t.cred_revoke_label)("Desk"),
                (t.adm_devices_title)("Ala", "101"),
                (t.adm_devices_label)("Ala"),
                (t.fwd_to)("Bob (102)"),
                (t.fwd_from)("Anna (101)"),
                (t.hist_forwarded_to)("Bob (102)", "busy"),
                (t.hist_forwarded_from)("Anna (101)", ""),
                (t.cost_class)("intl_zone2"),
                (t.cost_spent_of)("1,80 zł", "2,00 zł", 90),
            ];
            for s in &all {
                assert!(s.len() > 3, "{lang:?}: {s}");
            }
            outputs.push(all);
        }
        // Every function is translated.
        for (pl, en) in outputs[0].iter().zip(&outputs[1]) {
            assert_ne!(pl, en);
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
    fn enums_have_words() {
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
    }

    fn status(code: u16, words: &str) -> EndReason {
        EndReason::Status {
            code,
            words: words.into(),
        }
    }

    #[test]
    fn call_end_reasons_by_status_code_in_each_language() {
        // By the SIP status, whatever words the user agent had for it.
        for (code, pl) in [
            (486, "Zajęte"),
            (600, "Zajęte"),
            (480, "Niedostępny: nikt nie jest zalogowany na tym numerze"),
            (404, "Nie ma takiego numeru"),
            (603, "Odrzucone"),
            (487, "Połączenie anulowane"),
            (408, "Brak odpowiedzi"),
            (403, "Centrala odmówiła połączenia"),
        ] {
            assert_eq!(PL.end_reason(&status(code, "whatever")), pl, "{code}");
        }
        // English says what the end-to-end tests look for.
        assert_eq!(EN.end_reason(&status(486, "Busy Everywhere")), "Busy");
        assert_eq!(EN.end_reason(&status(600, "x")), "Busy");
        assert_eq!(EN.end_reason(&status(404, "x")), "No such extension");
        assert!(
            EN.end_reason(&status(
                403,
                "Forbidden (no line to the phone network is set up)"
            ))
            .starts_with("Calls outside the company are not set up")
        );
        assert!(
            PL.end_reason(&status(
                403,
                "Forbidden (emergency call: no line to the phone network is set up)"
            ))
            .starts_with("Numerów alarmowych")
        );
        assert_eq!(EN.end_reason(&status(403, "Forbidden")), EN.end_refused);
        for (words, en, pl) in [
            (
                "Forbidden (international calls are not allowed for you)",
                EN.end_no_international,
                PL.end_no_international,
            ),
            (
                "Forbidden (your calls are internal only)",
                EN.end_internal_only,
                PL.end_internal_only,
            ),
            (
                "Forbidden (premium-rate numbers are not allowed for you)",
                EN.end_no_premium,
                PL.end_no_premium,
            ),
            (
                "Forbidden (the monthly spending limit is reached: only internal and emergency calls)",
                EN.end_limit_reached,
                PL.end_limit_reached,
            ),
            (
                "Forbidden (calls outside the company are suspended after unusual international calls; ask your administrator)",
                EN.end_suspended,
                PL.end_suspended,
            ),
        ] {
            assert_eq!(EN.end_reason(&status(403, words)), en);
            assert_eq!(PL.end_reason(&status(403, words)), pl);
        }
        assert_eq!(
            EN.end_reason(&status(
                503,
                "Service Unavailable (the phone network does not answer)"
            )),
            EN.end_network_down
        );
        assert_eq!(
            EN.end_reason(&EndReason::OtherHungUp),
            "The other side hung up"
        );
        assert_eq!(EN.end_reason(&EndReason::YouHungUp), "You hung up");
        // A status without words: the user agent's in English, the code in Polish.
        let odd = status(500, "Call failed: 500 Oops");
        assert_eq!(EN.end_reason(&odd), "Call failed: 500 Oops");
        assert_eq!(PL.end_reason(&odd), "Połączenie nieudane (kod 500)");
        assert_eq!(EN.end_reason(&status(502, " ")), "Call failed: 502");
        // Without a status: what happened here, else the other side hung up.
        assert_eq!(
            PL.end_reason(&EndReason::from_sip(
                None,
                "The other side hung up".into(),
                None
            )),
            "Rozmówca się rozłączył"
        );
        assert_eq!(
            PL.end_reason(&EndReason::from_sip(
                None,
                "Connection to the phone system lost".into(),
                Some(EndReason::ConnectionLost)
            )),
            "Utracono połączenie z centralą"
        );
        assert_eq!(
            EndReason::from_sip(Some(486), "Busy".into(), Some(EndReason::YouHungUp)),
            status(486, "Busy"),
            "a status wins over the local cause"
        );
        for r in [
            EndReason::YouHungUp,
            EndReason::OtherHungUp,
            EndReason::Missed,
            EndReason::ConnectionLost,
            EndReason::NotConnected,
        ] {
            assert_ne!(EN.end_reason(&r), PL.end_reason(&r), "{r:?}");
        }
    }

    #[test]
    fn media_errors_in_each_language() {
        let denied = EndReason::Media(MediaError::Denied { video: false });
        assert_eq!(PL.end_reason(&denied), "Odmówiono dostępu do mikrofonu");
        assert_eq!(
            EN.end_reason(&denied),
            "Access to the microphone was denied"
        );
        assert_eq!(
            PL.media_error(&MediaError::NotFound { video: true }),
            "Nie znaleziono kamery lub mikrofonu"
        );
        assert_eq!(
            PL.media_error(&MediaError::InUse { video: false }),
            "Mikrofon jest używany przez inny program"
        );
        assert_eq!(
            EN.media_error(&MediaError::InUse { video: true }),
            "The camera and microphone is in use by another program"
        );
        let all = |video| {
            [
                MediaError::Insecure,
                MediaError::Denied { video },
                MediaError::NotFound { video },
                MediaError::InUse { video },
                MediaError::Other {
                    video,
                    detail: "boom".into(),
                },
                MediaError::Unsupported("boom".into()),
                MediaError::RemoteRefused("boom".into()),
                MediaError::Prepare(None),
                MediaError::Prepare(Some("boom".into())),
            ]
        };
        for e in all(true).into_iter().chain(all(false)) {
            let (en, pl) = (EN.media_error(&e), PL.media_error(&e));
            assert_ne!(en, pl, "{e:?}");
            assert!(pl.len() > 10, "{e:?}");
        }
        assert_eq!(
            PL.media_error(&MediaError::Other {
                video: false,
                detail: "boom".into()
            }),
            "Nie można użyć mikrofonu (boom)"
        );
    }

    #[test]
    fn phone_notices_in_each_language() {
        let refused = PhoneNotice::LoginRefused;
        assert!(
            EN.phone_notice(&refused)
                .starts_with("The phone system refused your login")
        );
        assert!(
            PL.phone_notice(&refused)
                .starts_with("Centrala odrzuciła logowanie")
        );
        let busy = PhoneNotice::NoCredentials(problem(503, "busy", "Server busy", &[]));
        assert!(
            EN.phone_notice(&busy)
                .starts_with("Cannot get your phone login: ")
        );
        assert_eq!(
            PL.phone_notice(&busy),
            format!(
                "Nie można pobrać danych logowania telefonu: {}",
                (PL.api_error)("busy").unwrap()
            )
        );
        let ua = PhoneNotice::Other("The phone system does not answer".into());
        assert_eq!(PL.phone_notice(&ua), "The phone system does not answer");
    }

    fn problem(status: u16, code: &str, message: &str, fields: &[(&str, &str)]) -> Problem {
        let mut p = Problem::new(status, Some(code.into()), Some(message.into()));
        p.fields = fields
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect();
        p
    }

    #[test]
    fn api_error_codes_are_translated() {
        let wrong = problem(401, "invalid_credentials", "Wrong e-mail or password.", &[]);
        assert_eq!(PL.problem(&wrong), "Nieprawidłowy adres e-mail lub hasło.");
        // English keeps the server's words (the end-to-end tests read them).
        assert_eq!(EN.problem(&wrong), "Wrong e-mail or password.");
        // Every code English words, Polish has too, in Polish.
        for code in [
            "invalid_credentials",
            "too_many_attempts",
            "no_app_access",
            "forbidden",
            "forbidden_origin",
            "busy",
            "internal",
            "link_used",
            "link_expired",
            "link_not_found",
            "too_large",
        ] {
            let (en, pl) = ((EN.api_error)(code), (PL.api_error)(code));
            assert!(en.is_some() && pl.is_some(), "{code}");
            assert_ne!(en, pl, "{code}");
        }
        // Polish says in Polish what the server's English says more precisely.
        let gone = problem(404, "not_found", "No such employee.", &[]);
        assert_eq!(EN.problem(&gone), "No such employee.");
        assert!(PL.problem(&gone).starts_with("Nie znaleziono"));
        // An unknown code: the server's message, in both.
        let odd = problem(400, "bad_request", "You cannot remove yourself.", &[]);
        assert_eq!(PL.problem(&odd), "You cannot remove yourself.");
        // No answer, or no words.
        assert!(PL.problem(&problem(0, "", "", &[])).contains("serwerem"));
        assert!(
            EN.problem(&problem(0, "", "", &[]))
                .contains("Cannot reach")
        );
        assert!(PL.problem(&problem(502, "", " ", &[])).contains("502"));
        assert!(EN.problem(&problem(502, "", "", &[])).contains("502"));
    }

    #[test]
    fn field_problems_are_translated_by_code_and_field() {
        let taken = problem(
            409,
            "conflict",
            "extension: extension 104 is already taken",
            &[("extension", "extension 104 is already taken")],
        );
        assert_eq!(
            EN.problem(&taken),
            "Extension: extension 104 is already taken"
        );
        assert_eq!(
            PL.problem(&taken),
            "Numer wewnętrzny: ten numer wewnętrzny jest już zajęty"
        );
        let weak = problem(
            400,
            "validation_failed",
            "password: use at least 10 characters",
            &[("password", "use at least 10 characters")],
        );
        assert!(PL.problem(&weak).starts_with("Hasło: hasło jest za słabe"));
        // A field Polish does not know: its name prettified, the server's words.
        let odd = problem(400, "validation_failed", "x", &[("public_number", "bad")]);
        assert_eq!(EN.problem(&odd), "Public number: bad");
        assert_eq!(EN.field_label("email"), "E-mail");
        assert_eq!(PL.field_label("first_number"), "Pierwszy numer");
    }

    #[test]
    fn link_problems_in_plain_words() {
        let p = |status, code: &str| problem(status, code, "x", &[]);
        assert_eq!(
            EN.link_problem(&p(410, "link_used")),
            Some("This link has already been used.")
        );
        assert_eq!(
            PL.link_problem(&p(410, "link_used")),
            Some("Ten link został już użyty.")
        );
        assert_eq!(
            EN.link_problem(&p(410, "link_expired")),
            Some("This link has expired.")
        );
        assert_eq!(
            EN.link_problem(&p(404, "")),
            Some("This link is not valid.")
        );
        assert_eq!(PL.link_problem(&p(410, "")), Some(PL.link_gone));
        assert_eq!(EN.link_problem(&p(500, "internal")), None);
        assert_eq!(EN.link_problem(&p(400, "invalid")), None);
    }

    #[test]
    fn admin_words() {
        assert_eq!(EN.invite_state("invited"), "Invited");
        assert_eq!(PL.invite_state("active"), "Konto aktywne");
        assert_eq!(PL.invite_state("not_invited"), "Bez zaproszenia");
        assert_eq!(PL.role("admin"), "Administrator");
        assert_eq!(PL.role("user"), "Użytkownik");
        assert_eq!(PL.import_action("update"), "Zmiana");
        assert_eq!((PL.adm_count)(1), "1 pracownik");
        assert_eq!((PL.adm_count)(3), "3 pracowników");
        assert_eq!((EN.adm_count)(3), "3 employees");
        assert_eq!(
            (EN.adm_import_summary)(false, 1, 0, 0, 0),
            "Imported: 1 new, 0 updated, 0 unchanged, 0 with errors."
        );
        assert_eq!((PL.adm_block_info)(2, ""), "(2 numery)");
        // A token's fields have a token's words, not a person's.
        let p = problem(
            400,
            "validation_failed",
            "x",
            &[
                ("token_name", "a name of 1 to 100 characters is needed"),
                ("expires_in_days", "a token lives 1 to 365 days"),
            ],
        );
        assert_eq!(
            PL.problem(&p),
            "Nazwa tokenu: wpisz nazwę tokenu (od 1 do 100 znaków); Ważność (dni): token może być ważny od 1 do 365 dni"
        );
        assert_eq!(
            EN.problem(&p),
            "Token name: a name of 1 to 100 characters is needed; Days valid: a token lives 1 to 365 days"
        );
    }

    #[test]
    fn forwarding_words() {
        assert_eq!((EN.fwd_to)("Bob (102)"), "Forwarded to Bob (102)");
        assert_eq!(
            (EN.hist_forwarded_to)("Bob (102)", EN.diversion(Some("no_answer"))),
            "forwarded to Bob (102) — no answer"
        );
        assert_eq!(
            (EN.hist_forwarded_from)("Anna (101)", EN.diversion(None)),
            "forwarded from Anna (101)"
        );
        assert_eq!(EN.end_reason(&status(482, "Loop Detected")), EN.end_loop);
        assert_eq!(
            PL.end_reason(&EndReason::AnsweredElsewhere),
            "Odebrano na innym urządzeniu"
        );
        assert_eq!(EN.direction(Direction::Forwarded, true), "Forwarded");
        assert_eq!((EN.dev_count)(1, 9), "1 device of at most 9");
        assert_eq!((PL.dev_count)(3, 9), "3 urządzenia (najwyżej 9)");
        assert_eq!(EN.transport("tls"), "TLS (encrypted)");
        assert_eq!(PL.transport("ws"), "WebSocket");
        // The gateway's routing fields name the rule, in each language.
        let p = problem(
            400,
            "invalid",
            "x",
            &[(
                "no_answer.target",
                "calls cannot be forwarded to your own extension",
            )],
        );
        assert_eq!(
            EN.problem(&p),
            "When you do not answer: calls cannot be forwarded to your own extension"
        );
        assert_eq!(
            PL.problem(&p),
            "Gdy nie odbierasz: nie można przekierować połączeń na własny numer"
        );
        let p = problem(
            400,
            "validation_failed",
            "x",
            &[("busy", "no extension 555 in your company")],
        );
        assert_eq!(
            PL.problem(&p),
            "Gdy masz zajęte: nie ma takiego numeru wewnętrznego w firmie"
        );
        for lang in Lang::ALL {
            let t = lang.t();
            for why in ["always", "busy", "no_answer", "offline", "unavailable"] {
                assert!(!t.diversion(Some(why)).is_empty(), "{why}");
            }
            assert_eq!(t.diversion(Some("odd")), "");
            assert!(!t.phone_notice(&PhoneNotice::ExtensionLocked).is_empty());
            assert!(!t.phone_notice(&PhoneNotice::TooManyDevices).is_empty());
        }
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
