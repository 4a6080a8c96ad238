//! Outgoing e-mail (invitations, password links): SMTP through lettre, or, with no SMTP
//! configured, `.eml` files under the data folder with the link logged, so a trial on one
//! machine works without a mail server.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::info;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same machine, tests).
    None,
    /// STARTTLS, usually port 587.
    Starttls,
    /// TLS from the start, usually port 465.
    Tls,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailConfig {
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        /// User name and password, if the server wants them.
        credentials: Option<(String, String)>,
        from: String,
    },
    /// `.eml` files in this folder.
    Files { dir: PathBuf, from: String },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot send: {0}")]
    Send(String),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Mailer, MailError> {
        let (from, transport) = match cfg {
            MailConfig::Smtp {
                host,
                port,
                security,
                credentials,
                from,
            } => {
                let mut b = match security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                            .map_err(|e| MailError::Send(e.to_string()))?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| MailError::Send(e.to_string()))?,
                };
                b = b.port(*port).timeout(Some(Duration::from_secs(15)));
                if let Some((u, p)) = credentials {
                    b = b.credentials(Credentials::new(u.clone(), p.clone()));
                }
                (from, Transport::Smtp(b.build()))
            }
            MailConfig::Files { dir, from } => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| MailError::Send(format!("{}: {e}", dir.display())))?;
                (
                    from,
                    Transport::Files(AsyncFileTransport::new(dir), dir.clone()),
                )
            }
        };
        Ok(Mailer {
            from: from
                .parse()
                .map_err(|e| MailError::Address(format!("sender {from:?}: {e}")))?,
            transport,
        })
    }

    /// Sends a plain-text message. `link` is logged when mail only goes to files.
    pub async fn send(
        &self,
        to_name: &str,
        to: &str,
        subject: &str,
        body: String,
        link: &str,
    ) -> Result<(), MailError> {
        let to_box = Mailbox::new(
            Some(to_name.to_string()),
            to.parse()
                .map_err(|e| MailError::Address(format!("{to}: {e}")))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                info!(%to, %subject, "e-mail sent");
            }
            Transport::Files(t, dir) => {
                let id = t
                    .send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                info!(%to, %subject, file = %dir.join(format!("{id}.eml")).display(), %link, "no SMTP server configured: e-mail written to a file");
            }
        }
        Ok(())
    }
}
