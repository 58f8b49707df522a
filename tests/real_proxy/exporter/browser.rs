//! The status page (`GET /`) in a real headless Chromium (Debian's `chromium`): it renders, its
//! script runs under the page's Content-Security-Policy, every provider shows its state, error
//! code, blame and hint, hostile text from the config and from responses stays text, and the
//! browser logs no console message at all (no script error, no CSP violation).

use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::{Completion, Failed};

use super::support::{ConfigFile, Harness, Outcome, Serve, ensure, skipped, toml_str, tool};

const HOSTILE: &str = "<script>alert(1)</script>";

pub(crate) async fn the_status_page_renders_in_headless_chromium() -> Outcome {
    let Some(chromium) = tool("chromium")? else {
        return Ok(skipped("chromium"));
    };
    let h = Harness::start().await;
    let (tls, plain, deny) = (&h.tls, &h.plain, &h.deny);
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.healthy]
url = {tls}
proxy = "direct"
ca_file = {ca}
[[providers.healthy.checks]]
name = "home"
path = "/"

[providers.denied]
url = {tls}
proxy = {deny}
ca_file = {ca}

[providers."x<i>y"]
url = {plain}
proxy = "direct"
[[providers."x<i>y".checks]]
name = "body"
path = "/"
body_contains = {hostile}

[providers.later]
url = {plain}
proxy = "direct"
"#,
        tls = toml_str(tls.url("/")),
        ca = h.ca(),
        plain = toml_str(plain.url("/")),
        deny = toml_str(deny.url()),
        hostile = toml_str(HOSTILE),
    ));
    let serve = Serve::start(cfg.path(), &[]).await?;
    for target in ["healthy", "denied", "x%3Ci%3Ey"] {
        let r = serve.get(&format!("/probe?target={target}"), &[]).await?;
        ensure(r.status == 200, || format!("{target}: {r:?}"))?;
    }
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let run = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("http://{}/", serve.addr))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .map_err(|_| "chromium did not finish within 90 s")?
        .map_err(|e| format!("chromium: {e}"))?;
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure(out.status.success(), || {
        format!("chromium: {}\n{log}", out.status)
    })?;
    check_dom(&dom)?;
    // Any console message — a script error, a CSP violation, a log call — fails the page.
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    ensure(console.is_empty(), || {
        format!("console messages: {console:#?}")
    })?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

fn check_dom(dom: &str) -> Result<(), Failed> {
    ensure(dom.contains("data-script=\"ran\""), || {
        format!("the page's script did not run:\n{dom}")
    })?;
    ensure(
        dom.contains("<title>(2 failing) proxyscope exporter</title>"),
        || format!("title:\n{dom}"),
    )?;
    ensure(dom.contains("4 checks, 2 failing"), || {
        format!("summary:\n{dom}")
    })?;
    // The only script element is the page's own; the hostile text is text.
    ensure(dom.matches("<script").count() == 1, || {
        format!("scripts:\n{dom}")
    })?;
    ensure(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        || format!("hostile body expectation not shown as text:\n{dom}"),
    )?;
    let healthy = row(dom, "healthy")?;
    ensure(
        healthy.contains("data-state=\"ok\"") && healthy.contains("ok (200)"),
        || healthy.to_owned(),
    )?;
    let denied = row(dom, "denied")?;
    ensure(
        denied.contains("data-ok=\"0\"")
            && denied.contains("<code>proxy.forbidden</code>")
            && denied.contains("<td class=\"blame\">proxy</td>")
            && hint(denied).is_some_and(|h| h.len() > 20),
        || denied.to_owned(),
    )?;
    let hostile = row(dom, "x&lt;i&gt;y")?;
    ensure(
        hostile.contains("<code>http.body</code>")
            && hostile.contains("<td class=\"blame\">origin</td>")
            && hint(hostile).is_some_and(|h| h.contains("body_contains")),
        || hostile.to_owned(),
    )?;
    let later = row(dom, "later")?;
    ensure(
        later.contains("data-state=\"unprobed\"") && later.contains("not probed yet"),
        || later.to_owned(),
    )?;
    // The script turned timestamps into relative times.
    ensure(dom.contains(" s ago</time>"), || format!("times:\n{dom}"))?;
    Ok(())
}

/// The `<tr>` of a provider (its name as it appears, escaped, in `data-provider`).
fn row<'a>(dom: &'a str, provider: &str) -> Result<&'a str, Failed> {
    let start = dom
        .find(&format!("<tr data-provider=\"{provider}\""))
        .ok_or_else(|| format!("no row for {provider}:\n{dom}"))?;
    let end = dom[start..].find("</tr>").ok_or("unterminated row")?;
    Ok(&dom[start..start + end])
}

/// The text of a row's hint cell.
fn hint(row: &str) -> Option<&str> {
    let start = row.find("<td class=\"hint\">")? + "<td class=\"hint\">".len();
    let end = row[start..].find("</td>")?;
    Some(&row[start..start + end])
}
