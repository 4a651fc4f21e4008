//! The URL parser and redaction never panic on any text, and a password put
//! into a URL never shows in the redacted form, the parse error or Debug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = rev_db::url::redact(text);
    let _ = format!("{:?}", rev_db::DatabaseUrl::parse(text));
    // The input's first line is a password, the rest a place to put it.
    let (password, rest) = text.split_once('\n').unwrap_or((text, ""));
    // A short or blank password may occur in the URL's other parts by chance.
    if password.len() < 6 || password.trim().is_empty() || rest.contains(password) {
        return;
    }
    let encoded: String = password
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let mut urls = vec![
        format!("postgres://user:{password}@127.0.0.1:5432/db{rest}"),
        format!("mysql://user:{encoded}@host/db?{rest}"),
        format!(
            "server=tcp:h,1433;database=d;user id=u;password={{{}}}",
            password.replace('}', "}}")
        ),
    ];
    // Unquoted, an ADO.NET value ends at `;` and cannot hold quotes or braces.
    if !password.contains([';', '{', '}', '\'', '"', '=']) && password.trim() == password {
        urls.push(format!("Server=h;Password={password};{rest}"));
    }
    for url in urls {
        let shown = [
            rev_db::url::redact(&url),
            format!("{:?}", rev_db::DatabaseUrl::parse(&url)),
        ];
        for shown in shown {
            // Where the password also spells another part of the URL, that part may show.
            if url.matches(password).count() == 1 {
                assert!(!shown.contains(password), "{url:?} shows the password: {shown}");
            }
        }
    }
});
