//! Email to staff, over SMTP with lettre, or to the console when no SMTP server is set.
//!
//! Staff emails carry a link and an alias, never what a texter wrote: the types here take
//! a subject and body that callers build from templates of their own, and recipients as
//! [`EmailAddress`], which is never logged.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::privacy::EmailAddress;

/// The sender of staff emails when none is configured.
const DEFAULT_FROM: &str = "Textline <textline@localhost>";

/// How staff emails leave.
#[derive(Clone)]
pub enum Mailer {
    /// Prints each email to standard output: for a laptop or a pilot without SMTP.
    Console,
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        host: String,
    },
}

/// One email: plain text and HTML forms of the same words.
pub struct StaffEmail {
    pub to: Vec<EmailAddress>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("TEXTLINE_SMTP_URL is not a usable smtp:// or smtps:// URL")]
    BadUrl,
    #[error("an email address could not be used")]
    BadAddress,
    #[error("the email could not be built")]
    Build,
    #[error("the SMTP server refused or could not be reached")]
    Smtp(#[source] lettre::transport::smtp::Error),
}

impl Mailer {
    /// SMTP when a URL is given (`smtp://` uses STARTTLS when the server offers it,
    /// `smtp://...?tls=none` sends in the clear to a local relay, `smtps://` is TLS from the
    /// start); the console otherwise.
    pub fn from_url(url: Option<&SecretString>) -> Result<Self, MailError> {
        let Some(url) = url else {
            return Ok(Mailer::Console);
        };
        let parsed = Url::parse(url.expose_secret()).map_err(|_| MailError::BadUrl)?;
        let host = parsed.host_str().ok_or(MailError::BadUrl)?.to_owned();
        let plain = parsed
            .query_pairs()
            .any(|(key, value)| key == "tls" && value == "none");
        let mut builder = match (parsed.scheme(), plain) {
            ("smtps", _) => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(MailError::Smtp)?
            }
            ("smtp", true) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
            ("smtp", false) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .map_err(MailError::Smtp)?,
            _ => return Err(MailError::BadUrl),
        };
        if let Some(port) = parsed.port() {
            builder = builder.port(port);
        }
        if !parsed.username().is_empty() {
            let password = parsed.password().unwrap_or_default().to_owned();
            builder = builder.credentials(Credentials::new(parsed.username().to_owned(), password));
        }
        let from = parsed
            .query_pairs()
            .find(|(key, _)| key == "from")
            .map_or(DEFAULT_FROM.to_owned(), |(_, value)| value.into_owned())
            .parse()
            .map_err(|_| MailError::BadAddress)?;
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
            host,
        })
    }

    /// How emails leave, for the startup report (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Console => "console (set TEXTLINE_SMTP_URL to send email)".to_owned(),
            Mailer::Smtp { host, .. } => format!("smtp {host}"),
        }
    }

    pub async fn send(&self, email: &StaffEmail) -> Result<(), MailError> {
        match self {
            Mailer::Console => {
                println!(
                    "--- email to {} recipient(s): {}\n{}\n---",
                    email.to.len(),
                    email.subject,
                    email.text
                );
                Ok(())
            }
            Mailer::Smtp {
                transport, from, ..
            } => {
                let message = build(from, email)?;
                transport.send(message).await.map_err(MailError::Smtp)?;
                Ok(())
            }
        }
    }
}

fn build(from: &Mailbox, email: &StaffEmail) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(&email.subject);
    for recipient in &email.to {
        let mailbox: Mailbox = recipient
            .expose()
            .parse()
            .map_err(|_| MailError::BadAddress)?;
        builder = builder.bcc(mailbox);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|_| MailError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_url_means_the_console_and_a_url_means_smtp() {
        let smtp = SecretString::from("smtp://user:pw@mail.example.org:2525?tls=none".to_owned());

        assert!(matches!(Mailer::from_url(None).unwrap(), Mailer::Console));
        let mailer = Mailer::from_url(Some(&smtp)).unwrap();
        assert_eq!(mailer.describe(), "smtp mail.example.org");
        assert!(!mailer.describe().contains("pw"));
    }

    #[test]
    fn other_schemes_are_refused() {
        let url = SecretString::from("http://mail.example.org".to_owned());

        assert!(matches!(
            Mailer::from_url(Some(&url)),
            Err(MailError::BadUrl)
        ));
    }
}
