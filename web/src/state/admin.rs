//! The admin panel's state and what can happen to it: a pure reducer, like
//! [`crate::state`]. The panel's component does the requests and dispatches the answers.

use std::collections::BTreeSet;
use std::rc::Rc;

use yew::Reducible;

use crate::addr::{compact_number, looks_like_email};
use crate::i18n::Strings;
use crate::model::{Employee, ImportReport, NumberBlock, Problem};
use crate::state::AdminSection;
use crate::state::tokens::{TokenAction, TokensState};

/// A form's refusal, in the language of the moment: the message and, per field, the line
/// that says what is wrong ("E-mail: already used").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormError {
    pub message: String,
    /// (field, line).
    pub fields: Vec<(String, String)>,
}

impl FormError {
    /// The gateway's refusal, in `t`'s words.
    pub fn from_problem(p: &Problem, t: &Strings) -> FormError {
        FormError {
            message: t.problem(p),
            fields: t.field_lines(&p.code, &p.fields),
        }
    }

    /// Refused here: `fields` are (field, what to do).
    pub(crate) fn local(t: &Strings, fields: Vec<(&str, &str)>) -> FormError {
        FormError {
            message: t.adm_fix_fields.into(),
            fields: fields
                .into_iter()
                .map(|(f, m)| (f.to_string(), format!("{}: {m}", t.field_label(f))))
                .collect(),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _)| f == field)
    }

    /// The lines for the error box: the fields the message does not already tell about.
    pub fn field_lines(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|(_, line)| !self.message.contains(line.as_str()))
            .cloned()
            .collect()
    }
}

/// The add/edit employee form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeForm {
    /// The employee being edited; `None`: a new one.
    pub editing: Option<i64>,
    pub name: String,
    pub email: String,
    pub extension: String,
    /// "user" or "admin".
    pub role: String,
    pub app_access: bool,
    pub busy: bool,
    pub error: Option<FormError>,
}

impl Default for EmployeeForm {
    fn default() -> EmployeeForm {
        EmployeeForm {
            editing: None,
            name: String::new(),
            email: String::new(),
            extension: String::new(),
            role: "user".into(),
            app_access: false,
            busy: false,
            error: None,
        }
    }
}

/// What the form sends (`POST /api/v1/employees` or `PATCH /api/v1/employees/ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeInput {
    pub name: String,
    /// `None` (left empty): unchanged when editing (some employees have none).
    pub email: Option<String>,
    /// `None` (left empty): the next free extension for a new employee, unchanged when
    /// editing.
    pub extension: Option<String>,
    pub role: String,
    pub app_access: bool,
}

impl EmployeeForm {
    /// The values to send, or what to fix first (in `t`'s words).
    pub fn validate(&self, t: &Strings) -> Result<EmployeeInput, FormError> {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let input = EmployeeInput {
            name: self.name.trim().to_string(),
            email: some(&self.email),
            extension: some(&self.extension),
            role: self.role.clone(),
            app_access: self.app_access,
        };
        let mut fields = Vec::new();
        if input.name.is_empty() {
            fields.push(("name", t.adm_name_missing));
        }
        let email_ok = match &input.email {
            Some(e) => looks_like_email(e),
            None => self.editing.is_some() && !self.app_access,
        };
        if !email_ok {
            fields.push(("email", t.email_hint));
        }
        if fields.is_empty() {
            Ok(input)
        } else {
            Err(FormError::local(t, fields))
        }
    }
}

/// The "add number block" form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockForm {
    pub first_number: String,
    pub size: String,
    pub first_extension: String,
    pub busy: bool,
    pub error: Option<FormError>,
}

impl Default for BlockForm {
    fn default() -> BlockForm {
        BlockForm {
            first_number: String::new(),
            size: "10".into(),
            first_extension: String::new(),
            busy: false,
            error: None,
        }
    }
}

/// What the block form sends (`POST /api/v1/number-blocks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInput {
    pub first_number: String,
    pub size: u32,
    /// `None`: the gateway picks.
    pub first_extension: Option<String>,
}

impl BlockForm {
    pub fn validate(&self, t: &Strings) -> Result<BlockInput, FormError> {
        let first_number = compact_number(&self.first_number);
        let mut fields = Vec::new();
        if first_number.is_empty() {
            fields.push(("first_number", t.adm_block_first_missing));
        }
        let size = self.size.trim().parse::<u32>().ok().filter(|n| *n > 0);
        if size.is_none() {
            fields.push(("size", t.adm_block_size_missing));
        }
        match (fields.is_empty(), size) {
            (true, Some(size)) => Ok(BlockInput {
                first_number,
                size,
                first_extension: Some(self.first_extension.trim().to_string())
                    .filter(|e| !e.is_empty()),
            }),
            _ => Err(FormError::local(t, fields)),
        }
    }
}

/// The CSV import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportState {
    pub csv: String,
    /// The last answer (a check, or the import itself).
    pub report: Option<ImportReport>,
    pub busy: bool,
    pub error: Option<String>,
}

impl ImportState {
    /// "Import" is allowed after a check of this very text that found no errors.
    pub fn can_apply(&self) -> bool {
        !self.busy
            && !self.csv.trim().is_empty()
            && self
                .report
                .as_ref()
                .is_some_and(|r| r.dry_run && r.errors == 0)
    }
}

/// Everything the admin panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminState {
    /// The search box.
    pub query: String,
    pub employees: Vec<Employee>,
    pub total: u64,
    /// The list arrived at least once.
    pub loaded: bool,
    /// Ticked rows, by employee id.
    pub selected: BTreeSet<i64>,
    /// The last thing that worked, for a person ("Invitation sent.").
    pub notice: Option<String>,
    /// The last thing that did not (list, remove, invite, bulk changes).
    pub error: Option<String>,
    pub form: EmployeeForm,
    /// The next free extension, for a new employee.
    pub suggested_extension: Option<String>,
    pub blocks: Vec<NumberBlock>,
    pub block: BlockForm,
    pub import: ImportState,
    /// The API tokens section.
    pub tokens: TokensState,
    /// The employee whose devices and forwarding show instead of the list.
    pub devices_of: Option<Employee>,
}

/// A field of the employee form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmpField {
    Name,
    Email,
    Extension,
    Role,
}

/// A field of the number block form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockField {
    FirstNumber,
    Size,
    FirstExtension,
}

/// Everything that can happen in the admin panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// The search box changed (the list is fetched again for it).
    Query(String),
    /// The employee list arrived.
    Listed {
        employees: Vec<Employee>,
        total: u64,
    },
    /// Something worked; the text says what.
    Notice(String),
    /// Something failed; the text says why.
    Failed(String),
    /// A row's checkbox.
    Select {
        id: i64,
        selected: bool,
    },
    /// Fill the form with this employee, for editing.
    Edit(i64),
    /// Empty the form for a new employee ("Cancel", or after saving).
    NewEmployee,
    /// `GET /api/v1/employees/next-extension` answered.
    NextExtension(String),
    FormField(EmpField, String),
    FormAccess(bool),
    /// The form is being saved.
    FormSubmitted,
    /// The form was refused (here or by the gateway).
    FormRejected(FormError),
    /// The form was saved; the text says what happened.
    FormSaved(String),
    /// The number blocks arrived.
    Blocks(Vec<NumberBlock>),
    BlockField(BlockField, String),
    BlockSubmitted,
    BlockRejected(FormError),
    BlockAdded,
    /// The CSV text changed (typed, pasted or loaded from a file).
    ImportCsv(String),
    /// A check or an import is under way.
    ImportSubmitted,
    /// A check's or an import's answer (also a refused import: nothing was written).
    ImportReported(ImportReport),
    /// The check or import failed without a report.
    ImportFailed(String),
    /// The section shown now (leaving the API tokens forgets a new token's secret).
    Section(AdminSection),
    /// Something in the API tokens section.
    Tokens(TokenAction),
    /// Show this employee's devices and forwarding (`None`: back to the list).
    Devices(Option<i64>),
}

impl Reducible for AdminState {
    type Action = AdminAction;

    fn reduce(self: Rc<Self>, action: AdminAction) -> Rc<Self> {
        let mut s = (*self).clone();
        s.apply(action);
        if s == *self { self } else { Rc::new(s) }
    }
}

impl AdminState {
    /// The employees ticked, in id order.
    pub fn selected_ids(&self) -> Vec<i64> {
        self.selected.iter().copied().collect()
    }

    fn new_form(&mut self) {
        self.form = EmployeeForm {
            extension: self.suggested_extension.clone().unwrap_or_default(),
            ..EmployeeForm::default()
        };
    }

    pub fn apply(&mut self, action: AdminAction) {
        match action {
            AdminAction::Query(q) => self.query = q,
            AdminAction::Listed { employees, total } => {
                // Ticks on rows no longer listed would act unseen: drop them.
                self.selected
                    .retain(|id| employees.iter().any(|e| e.id == *id));
                self.employees = employees;
                self.total = total;
                self.loaded = true;
            }
            AdminAction::Notice(text) => {
                self.notice = Some(text);
                self.error = None;
            }
            AdminAction::Failed(text) => {
                self.error = Some(text);
                self.notice = None;
            }
            AdminAction::Select { id, selected } => {
                if selected {
                    self.selected.insert(id);
                } else {
                    self.selected.remove(&id);
                }
            }
            AdminAction::Edit(id) => {
                if let Some(e) = self.employees.iter().find(|e| e.id == id) {
                    self.form = EmployeeForm {
                        editing: Some(id),
                        name: e.name.clone(),
                        email: e.email.clone(),
                        extension: e.extension.clone(),
                        role: e.role.clone(),
                        app_access: e.app_access,
                        busy: false,
                        error: None,
                    };
                }
            }
            AdminAction::NewEmployee => self.new_form(),
            AdminAction::NextExtension(ext) => {
                let old = self.suggested_extension.replace(ext.clone());
                // Prefill a new employee's extension unless the admin typed one.
                let untouched =
                    self.form.extension.is_empty() || old == Some(self.form.extension.clone());
                if self.form.editing.is_none() && untouched {
                    self.form.extension = ext;
                }
            }
            AdminAction::FormField(field, value) => {
                let f = &mut self.form;
                match field {
                    EmpField::Name => f.name = value,
                    EmpField::Email => f.email = value,
                    EmpField::Extension => f.extension = value,
                    EmpField::Role => f.role = value,
                }
            }
            AdminAction::FormAccess(on) => self.form.app_access = on,
            AdminAction::FormSubmitted => {
                self.form.busy = true;
                self.form.error = None;
            }
            AdminAction::FormRejected(err) => {
                self.form.busy = false;
                self.form.error = Some(err);
            }
            AdminAction::FormSaved(text) => {
                self.suggested_extension = None; // taken now; a new one is fetched
                self.new_form();
                self.notice = Some(text);
                self.error = None;
            }
            AdminAction::Blocks(blocks) => self.blocks = blocks,
            AdminAction::BlockField(field, value) => {
                let b = &mut self.block;
                match field {
                    BlockField::FirstNumber => b.first_number = value,
                    BlockField::Size => b.size = value,
                    BlockField::FirstExtension => b.first_extension = value,
                }
            }
            AdminAction::BlockSubmitted => {
                self.block.busy = true;
                self.block.error = None;
            }
            AdminAction::BlockRejected(err) => {
                self.block.busy = false;
                self.block.error = Some(err);
            }
            AdminAction::BlockAdded => self.block = BlockForm::default(),
            AdminAction::ImportCsv(csv) => {
                if csv != self.import.csv {
                    // A changed text must be checked again before it is imported.
                    self.import.csv = csv;
                    self.import.report = None;
                    self.import.error = None;
                }
            }
            AdminAction::ImportSubmitted => {
                self.import.busy = true;
                self.import.error = None;
            }
            AdminAction::ImportReported(report) => {
                self.import.busy = false;
                self.import.report = Some(report);
            }
            AdminAction::ImportFailed(text) => {
                self.import.busy = false;
                self.import.error = Some(text);
            }
            AdminAction::Section(section) => {
                if section != AdminSection::ApiTokens {
                    self.tokens.apply(TokenAction::Left);
                }
                if section != AdminSection::Employees {
                    self.devices_of = None;
                }
            }
            AdminAction::Devices(id) => {
                self.devices_of =
                    id.and_then(|id| self.employees.iter().find(|e| e.id == id).cloned());
            }
            AdminAction::Tokens(action) => self.tokens.apply(action),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};
    use crate::model::ImportRow;

    fn run(actions: impl IntoIterator<Item = AdminAction>) -> AdminState {
        actions.into_iter().fold(AdminState::default(), |mut s, a| {
            s.apply(a);
            s
        })
    }

    fn employee(id: i64, ext: &str) -> Employee {
        Employee {
            id,
            name: format!("E{id}"),
            email: format!("e{id}@example.com"),
            extension: ext.into(),
            number: None,
            role: "user".into(),
            app_access: true,
            invite_state: "invited".into(),
        }
    }

    fn listed(employees: Vec<Employee>) -> AdminAction {
        let total = employees.len() as u64;
        AdminAction::Listed { employees, total }
    }

    #[test]
    fn a_new_employee_gets_the_next_extension() {
        let s = run([AdminAction::NextExtension("104".into())]);
        assert_eq!(s.form.editing, None);
        assert_eq!(s.form.extension, "104");
        assert_eq!(s.form.role, "user");
        // A newer suggestion replaces the old one, but not what the admin typed.
        let s2 = run([
            AdminAction::NextExtension("104".into()),
            AdminAction::NextExtension("105".into()),
        ]);
        assert_eq!(s2.form.extension, "105");
        let s3 = run([
            AdminAction::NextExtension("104".into()),
            AdminAction::FormField(EmpField::Extension, "200".into()),
            AdminAction::NextExtension("105".into()),
        ]);
        assert_eq!(s3.form.extension, "200");
    }

    #[test]
    fn edit_fills_the_form_and_cancel_empties_it() {
        let s = run([
            AdminAction::NextExtension("104".into()),
            listed(vec![employee(1, "101"), employee(2, "102")]),
            AdminAction::Edit(2),
        ]);
        assert_eq!(s.form.editing, Some(2));
        assert_eq!(s.form.name, "E2");
        assert_eq!(s.form.extension, "102");
        assert!(s.form.app_access);
        // A suggestion does not touch an employee being edited.
        let mut s = s;
        s.apply(AdminAction::NextExtension("105".into()));
        assert_eq!(s.form.extension, "102");
        s.apply(AdminAction::NewEmployee);
        assert_eq!(s.form.editing, None);
        assert_eq!(s.form.name, "");
        assert_eq!(s.form.extension, "105");
    }

    #[test]
    fn the_form_checks_then_shows_the_servers_field_messages() {
        let mut s = run([AdminAction::FormField(EmpField::Name, " ".into())]);
        let err = s.form.validate(&EN).unwrap_err();
        assert!(err.has("name") && err.has("email"));
        assert!(!err.has("extension"), "left empty: the next free one");

        for (f, v) in [
            (EmpField::Name, " Alice "),
            (EmpField::Email, "alice@example.com"),
            (EmpField::Extension, "101"),
            (EmpField::Role, "admin"),
        ] {
            s.apply(AdminAction::FormField(f, v.into()));
        }
        s.apply(AdminAction::FormAccess(true));
        let input = s.form.validate(&EN).unwrap();
        assert_eq!(input.name, "Alice");
        assert_eq!(input.email.as_deref(), Some("alice@example.com"));
        assert_eq!(input.extension.as_deref(), Some("101"));
        assert_eq!(input.role, "admin");
        assert!(input.app_access);

        s.apply(AdminAction::FormSubmitted);
        assert!(s.form.busy);
        s.apply(AdminAction::FormRejected(FormError::from_problem(
            &Problem {
                status: 409,
                code: "too_many".into(),
                message: "This extension is taken.".into(),
                fields: vec![("extension".into(), "already used by E1".into())],
            },
            &EN,
        )));
        let err = s.form.error.clone().unwrap();
        assert!(!s.form.busy);
        assert!(err.has("extension"));
        assert_eq!(err.message, "Extension: already used by E1");
        assert!(err.field_lines().is_empty(), "said once");
        // The gateway's message often names the field already: no second line then.
        let taken = Problem {
            status: 409,
            code: "conflict".into(),
            message: "extension: extension 104 is already taken".into(),
            fields: vec![("extension".into(), "extension 104 is already taken".into())],
        };
        let told = FormError::from_problem(&taken, &EN);
        assert!(told.has("extension"));
        assert_eq!(told.message, "Extension: extension 104 is already taken");
        assert!(told.field_lines().is_empty());
        let pl = FormError::from_problem(&taken, &PL);
        assert_eq!(
            pl.message,
            "Numer wewnętrzny: ten numer wewnętrzny jest już zajęty"
        );
        assert!(pl.has("extension") && pl.field_lines().is_empty());
        // Checked here: one message, a line per field, in the language asked for.
        let empty = EmployeeForm {
            name: " ".into(),
            ..EmployeeForm::default()
        };
        let here = empty.validate(&PL).unwrap_err();
        assert_eq!(here.message, "Popraw zaznaczone pola.");
        assert_eq!(
            here.field_lines(),
            vec![
                (
                    "name".to_string(),
                    "Imię i nazwisko: Wpisz imię i nazwisko".to_string()
                ),
                (
                    "email".to_string(),
                    "E-mail: Wpisz adres e-mail, np. imie@firma.pl".to_string()
                ),
            ]
        );
        assert_eq!(s.form.name, " Alice ", "the form keeps what was typed");

        s.apply(AdminAction::FormSaved("Alice added.".into()));
        assert_eq!(s.form, EmployeeForm::default());
        assert_eq!(s.notice.as_deref(), Some("Alice added."));
    }

    #[test]
    fn an_employee_without_e_mail_can_be_edited_but_not_invited() {
        let mut e = employee(3, "103");
        e.email = String::new();
        e.app_access = false;
        let mut s = run([listed(vec![e]), AdminAction::Edit(3)]);
        let input = s.form.validate(&EN).unwrap();
        assert_eq!(input.email, None, "left out: unchanged");
        s.apply(AdminAction::FormAccess(true));
        assert!(s.form.validate(&EN).unwrap_err().has("email"));
        // A new employee always needs one.
        s.apply(AdminAction::NewEmployee);
        s.apply(AdminAction::FormField(EmpField::Name, "New".into()));
        assert!(s.form.validate(&EN).unwrap_err().has("email"));
    }

    #[test]
    fn selection_follows_the_listed_rows() {
        let mut s = run([
            listed(vec![employee(1, "101"), employee(2, "102")]),
            AdminAction::Select {
                id: 1,
                selected: true,
            },
            AdminAction::Select {
                id: 2,
                selected: true,
            },
            AdminAction::Select {
                id: 1,
                selected: false,
            },
        ]);
        assert_eq!(s.selected_ids(), vec![2]);
        s.apply(AdminAction::Query("E1".into()));
        s.apply(listed(vec![employee(1, "101")]));
        assert!(s.selected.is_empty(), "a hidden row is not acted on");
        assert_eq!(s.query, "E1");
    }

    #[test]
    fn blocks_are_checked_and_sent_compact() {
        let mut s = AdminState::default();
        assert_eq!(s.block.size, "10");
        s.apply(AdminAction::BlockField(
            BlockField::FirstNumber,
            "+48 22 6006100".into(),
        ));
        let input = s.block.validate(&EN).unwrap();
        assert_eq!(input.first_number, "+48226006100");
        assert_eq!(input.size, 10);
        assert_eq!(input.first_extension, None);
        s.apply(AdminAction::BlockField(BlockField::Size, "0".into()));
        assert!(s.block.validate(&EN).unwrap_err().has("size"));
        s.apply(AdminAction::BlockField(BlockField::Size, "20".into()));
        s.apply(AdminAction::BlockField(
            BlockField::FirstExtension,
            "200".into(),
        ));
        assert_eq!(
            s.block.validate(&EN).unwrap().first_extension.as_deref(),
            Some("200")
        );
        s.apply(AdminAction::BlockAdded);
        assert_eq!(s.block, BlockForm::default());
    }

    fn report(dry_run: bool, errors: u64) -> ImportReport {
        ImportReport {
            dry_run,
            created: 1,
            updated: 0,
            unchanged: 0,
            errors,
            rows: vec![ImportRow {
                row: 2,
                action: if errors > 0 { "error" } else { "create" }.into(),
                name: "Bob".into(),
                email: "bob@example.com".into(),
                extension: "102".into(),
                errors: Vec::new(),
            }],
        }
    }

    #[test]
    fn import_only_after_a_clean_check_of_the_same_text() {
        let mut s = run([AdminAction::ImportCsv("name,email\nBob,bob@x".into())]);
        assert!(!s.import.can_apply());
        s.apply(AdminAction::ImportSubmitted);
        assert!(s.import.busy);
        s.apply(AdminAction::ImportReported(report(true, 1)));
        assert!(!s.import.can_apply(), "errors found");
        s.apply(AdminAction::ImportReported(report(true, 0)));
        assert!(s.import.can_apply());
        // Editing the text needs a new check.
        s.apply(AdminAction::ImportCsv("name,email\nBob,bob@y".into()));
        assert!(!s.import.can_apply());
        assert_eq!(s.import.report, None);
        s.apply(AdminAction::ImportReported(report(true, 0)));
        s.apply(AdminAction::ImportSubmitted);
        assert!(!s.import.can_apply(), "not twice at once");
        s.apply(AdminAction::ImportReported(report(false, 0)));
        assert!(!s.import.can_apply(), "already imported");
        let r = s.import.report.as_ref().unwrap();
        assert_eq!((r.dry_run, r.created, r.errors), (false, 1, 0));
    }

    #[test]
    fn an_employees_devices_open_from_the_list_and_close_with_another_section() {
        let mut s = run([
            listed(vec![employee(1, "101"), employee(2, "102")]),
            AdminAction::Devices(Some(2)),
        ]);
        assert_eq!(
            s.devices_of.as_ref().map(|e| e.extension.as_str()),
            Some("102")
        );
        s.apply(AdminAction::Devices(Some(9)));
        assert_eq!(s.devices_of, None, "not listed");
        s.apply(AdminAction::Devices(Some(1)));
        s.apply(AdminAction::Section(AdminSection::Employees));
        assert!(s.devices_of.is_some(), "the same section keeps it");
        s.apply(AdminAction::Section(AdminSection::NumberBlocks));
        assert_eq!(s.devices_of, None);
        s.apply(AdminAction::Devices(Some(1)));
        s.apply(AdminAction::Devices(None));
        assert_eq!(s.devices_of, None);
    }

    #[test]
    fn notices_and_errors_replace_each_other() {
        let s = run([
            AdminAction::Failed("Could not remove.".into()),
            AdminAction::Notice("Invitation sent.".into()),
        ]);
        assert_eq!(s.error, None);
        assert_eq!(s.notice.as_deref(), Some("Invitation sent."));
    }
}
