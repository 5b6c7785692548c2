//! Report mail: the payload gzip-compressed and attached, the subject and
//! file name RFC 7489 7.2.1.1 and RFC 8460 5.3 ask for, `Auto-Submitted`
//! so nobody answers it, then a DKIM signature with the From domain's key
//! (`tern_queue::dkim::sign`, as submitted mail gets).

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address as MailAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        Compression::default(),
    );
    e.write_all(bytes)?;
    e.finish()
}

/// What a report mail says about itself.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    /// The receiver's name in file names and subjects (our host name).
    pub submitter: &'a str,
    /// The domain the report is about.
    pub domain: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
    pub date: i64,
}

fn to_header<'a>(to: &'a [String]) -> HeaderType<'a> {
    HeaderType::Address(MailAddress::List(
        to.iter().map(|t| MailAddress::from(t.as_str())).collect(),
    ))
}

/// A DMARC aggregate report mail (RFC 7489 7.2.1.1).
pub fn dmarc(e: &Envelope<'_>, gz: &[u8]) -> std::io::Result<Vec<u8>> {
    MessageBuilder::new()
        .from(e.from)
        .header("To", to_header(e.to))
        .date(e.date)
        .message_id(format!("dmarc.{}.{}@{}", e.begin, e.domain, e.submitter))
        .header("Auto-Submitted", HeaderType::Text("auto-generated".into()))
        .subject(format!(
            "Report Domain: {} Submitter: {} Report-ID: <{}>",
            e.domain, e.submitter, e.report_id
        ))
        .text_body(format!(
            "DMARC aggregate report from {}\r\n\r\nReport Domain: {}\r\nSubmitter: {}\r\n\
             Report-ID: {}\r\n",
            e.submitter, e.domain, e.submitter, e.report_id
        ))
        .attachment(
            "application/gzip",
            format!("{}!{}!{}!{}.xml.gz", e.submitter, e.domain, e.begin, e.end),
            gz.to_vec(),
        )
        .write_to_vec()
}

/// A TLS-RPT report mail (RFC 8460 5.3): multipart/report with
/// `report-type=tlsrpt`, the report as `application/tlsrpt+gzip`.
pub fn tlsrpt(e: &Envelope<'_>, gz: &[u8]) -> std::io::Result<Vec<u8>> {
    MessageBuilder::new()
        .from(e.from)
        .header("To", to_header(e.to))
        .date(e.date)
        .message_id(format!("tlsrpt.{}.{}@{}", e.begin, e.domain, e.submitter))
        .header("TLS-Report-Domain", HeaderType::Text(e.domain.into()))
        .header("TLS-Report-Submitter", HeaderType::Text(e.submitter.into()))
        .header("Auto-Submitted", HeaderType::Text("auto-generated".into()))
        .subject(format!(
            "Report Domain: {} Submitter: {} Report-ID: <{}>",
            e.domain, e.submitter, e.report_id
        ))
        .body(MimePart::new(
            ContentType::new("multipart/report").attribute("report-type", "tlsrpt"),
            BodyPart::Multipart(vec![
                MimePart::new(
                    ContentType::new("text/plain"),
                    BodyPart::Text(
                        format!(
                            "TLS report from {}\r\n\r\nReport Domain: {}\r\nSubmitter: {}\r\n\
                             Report-ID: {}\r\n",
                            e.submitter, e.domain, e.submitter, e.report_id
                        )
                        .into(),
                    ),
                ),
                MimePart::new(
                    ContentType::new("application/tlsrpt+gzip"),
                    BodyPart::Binary(gz.to_vec().into()),
                )
                .attachment(format!(
                    "{}!{}!{}!{}.json.gz",
                    e.submitter, e.domain, e.begin, e.end
                )),
            ]),
        ))
        .write_to_vec()
}
