//! The rule table: every credential format the scanner knows, one row per shape.
//!
//! Written for this project from the providers' public descriptions of their formats
//! (prefix, alphabet, length); no rule set was copied from another scanner (ADR 0003).
//!
//! A row is a regular expression whose named group `s` is the secret (the whole match when
//! there is none), the literal *anchors* of which every match holds at least one (ASCII
//! case-insensitive; they let the scanner skip rules whose anchors are absent), the check
//! that accepts or rejects what the expression found, and a priority that names the finding
//! when two rules cover the same bytes (the more specific rule wins).
//!
//! Conventions in the patterns: `(?-u:\b)` is an ASCII word boundary (a Unicode one would
//! keep the fast DFA engines off non-ASCII text); classes are ASCII unless they exclude
//! characters; counted repetitions are short so every pattern stays a small automaton.

/// What the scanner does with a match before it becomes a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// A provider token with a recognisable shape. Rejected only when it is a documented
    /// example (`EXAMPLE` in it), filler (a run of six identical characters), or too
    /// uniform to be random (low entropy), or glued to a longer word (`cache-key-...`).
    Token,
    /// As `Token`, and the token must mix upper and lower case (Hugging Face tokens are
    /// letters only, so an all-lowercase identifier after `hf_` is a name, not a token).
    TokenMixedCase,
    /// A fixed-shape value found only next to a keyword (Gitea's 40 hex, AWS's secret key,
    /// Twilio's auth token): as `Token`, plus no base64 character right after the value
    /// (it would be part of a longer string).
    Keyed,
    /// `key = value` with a secret-sounding key: key exclusions, placeholders, entropy.
    Assignment,
    /// `Bearer <token>`: documentation fillers, entropy, at least one digit.
    Bearer,
    /// `Basic <base64>`: the base64 must decode to printable `user:password`.
    BasicAuth,
    /// `scheme://user:password@host`: the password must not be a placeholder and must have
    /// six characters of two kinds.
    UrlPassword,
    /// A PEM/PGP private key marker: the span is extended over the key body (see `checks`).
    PrivateKey,
    /// A Discord bot token: its first part must be base64 of a numeric user id.
    DiscordBot,
    /// An Azure AD client secret: its alphabet has non-word characters, so the boundary is
    /// checked in code rather than with `\b`.
    AzureAdSecret,
}

/// One row of the table.
#[derive(Debug)]
pub(super) struct Rule {
    /// The rule name a finding carries and a mask shows (`[REDACTED:name]`).
    pub name: &'static str,
    /// Literals (matched ignoring ASCII case) of which every match holds one; empty means
    /// the rule always runs.
    pub anchors: &'static [&'static str],
    pub pattern: &'static str,
    pub check: Check,
    /// Higher wins when findings of two rules overlap.
    pub priority: u8,
}

impl Rule {
    pub fn compile(&self) -> Result<regex::Regex, super::SecretsError> {
        regex::Regex::new(self.pattern).map_err(|source| super::SecretsError::Rule {
            rule: self.name,
            source: Box::new(source),
        })
    }
}

/// Priorities: the more a rule knows about the format, the higher.
const P_KEY_BLOCK: u8 = 6;
const P_PROVIDER: u8 = 5;
const P_KEYED: u8 = 4;
const P_SCHEME: u8 = 3;
const P_GENERIC: u8 = 1;

/// The separator of `key = value` in every syntax we meet: an optional closing quote of the
/// key (escaped inside a JSON string: `\"`), `=`, `:`, `:=` or `=>` with blanks around, and
/// an optional opening quote of the value.
macro_rules! assign {
    () => {
        r#"\\?["']?[ \t]*(?:=|:=|=>|:)[ \t]*\\?["'`]?"#
    };
}

/// The identifier characters a key may continue with after its keyword.
macro_rules! key_tail {
    () => {
        r"[A-Za-z0-9_.-]*"
    };
}

pub(super) const RULES: &[Rule] = &[
    // --- Private keys: PEM (PKCS#1/#8, EC, DSA, OpenSSH, encrypted) and PGP blocks. Only
    // the BEGIN marker is matched here; the body is found in code, which also handles
    // `\n` escapes inside JSON strings and keys cut short by truncation.
    Rule {
        name: "private_key",
        anchors: &["-----begin"],
        pattern: r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        check: Check::PrivateKey,
        priority: P_KEY_BLOCK,
    },
    // --- AWS: access key ids are 4-letter prefix + 16 base32 characters; AKIA long-term,
    // ASIA temporary (STS), ABIA/ACCA service-specific. The secret key is 40 base64
    // characters with no prefix, so it is only taken next to its well-known names.
    Rule {
        name: "aws_access_key_id",
        anchors: &["akia", "asia", "abia", "acca"],
        pattern: r"(?-u:\b)(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "aws_secret_access_key",
        anchors: &[
            "secret_access",
            "secretaccess",
            "secret-access",
            "aws_secret",
            "aws-secret",
        ],
        pattern: concat!(
            r"(?i)(?:aws[_.-]?secret(?:[_.-]?access)?[_.-]?key|secret[_.-]?access[_.-]?key)",
            key_tail!(),
            assign!(),
            r"(?P<s>[A-Za-z0-9/+]{40})"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    // --- GitHub: documented prefixes; lengths may grow, so only a minimum is fixed.
    Rule {
        name: "github_pat",
        anchors: &["ghp_"],
        pattern: r"(?-u:\b)(?P<s>ghp_[A-Za-z0-9]{36,251})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "github_fine_grained_pat",
        anchors: &["github_pat_"],
        pattern: r"(?-u:\b)(?P<s>github_pat_[A-Za-z0-9_]{60,251})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // OAuth (gho_), user-to-server (ghu_), server-to-server / Actions (ghs_), refresh (ghr_).
        name: "github_token",
        anchors: &["gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"(?-u:\b)(?P<s>gh[ousr]_[A-Za-z0-9]{36,251})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- GitLab: `glpat-` plus 20 characters, or the newer routable form with `.` parts.
    Rule {
        name: "gitlab_pat",
        anchors: &["glpat-"],
        pattern: r"(?-u:\b)(?P<s>glpat-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{2,}){0,2})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // Deploy, runner, pipeline-trigger, feed, incoming-mail, agent, CI-build, OAuth
        // application, SCIM, feature-flag and workspace tokens, and the legacy runner
        // registration token prefix.
        name: "gitlab_token",
        anchors: &[
            "gldt-",
            "glrt-",
            "glrtr-",
            "glptt-",
            "glft-",
            "glimt-",
            "glagent-",
            "glcbt-",
            "gloas-",
            "glsoat-",
            "glffct-",
            "glwt-",
            "gr1348941",
        ],
        pattern: concat!(
            r"(?-u:\b)(?P<s>(?:gl(?:dt|rt|rtr|ptt|ft|imt|agent|cbt|oas|soat|ffct|wt)-",
            r"[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{2,}){0,2}|GR1348941[A-Za-z0-9_-]{20,}))"
        ),
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Gitea: access tokens are 40 lowercase hex, exactly like a SHA-1 commit id. Taken
    // only right after `gitea...`, `...token...`, `authorization` or `bearer` and a
    // separator (`=`, `:`, quotes, blanks; `Authorization: token <hex>`), so the commit ids
    // of diffs, `git log` and API payloads (`"sha": ...`) stay untouched.
    Rule {
        name: "gitea_token",
        anchors: &["gitea", "token", "authorization", "bearer"],
        pattern: concat!(
            r"(?i)(?:gitea|token|authorization|bearer)",
            key_tail!(),
            r#"\\?["']?(?:[ \t]*(?:=|:=|=>|:)[ \t]*|[ \t]+)\\?["']?(?:(?:token|bearer)[ \t]+)?"#,
            r"(?P<s>[0-9a-f]{40})(?-u:\b)"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    // --- Slack: `xox?-` tokens (bot, user, app, workspace, refresh, config) and app-level
    // `xapp-` tokens; incoming webhooks are URLs whose path is the secret.
    Rule {
        name: "slack_token",
        anchors: &["xox", "xapp-"],
        pattern: concat!(
            r"(?-u:\b)(?P<s>(?:xox[abposr]|xoxe(?:\.xox[bp])?)-[0-9]{1,20}-[A-Za-z0-9-]{8,250}",
            r"|xapp-[0-9]-[A-Z0-9]{6,}-[0-9]{6,}-[a-f0-9]{32,})"
        ),
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "slack_webhook_url",
        anchors: &["hooks.slack.com"],
        pattern: r"(?P<s>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Stripe: secret and restricted keys, live and test (a test key still reads and
    // writes the account's test data); webhook signing secrets. Publishable `pk_` keys are
    // public by design and not matched.
    Rule {
        name: "stripe_secret_key",
        anchors: &["sk_live_", "sk_test_"],
        pattern: r"(?-u:\b)(?P<s>sk_(?:live|test)_[0-9A-Za-z]{24,247})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "stripe_restricted_key",
        anchors: &["rk_live_", "rk_test_"],
        pattern: r"(?-u:\b)(?P<s>rk_(?:live|test)_[0-9A-Za-z]{24,247})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "stripe_webhook_secret",
        anchors: &["whsec_"],
        pattern: r"(?-u:\b)(?P<s>whsec_[A-Za-z0-9+/]{32,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Google: API keys (`AIza` + 35), OAuth client secrets (`GOCSPX-` + 28), OAuth
    // access tokens (`ya29.`), and the key id of a service-account JSON file (its private
    // key is caught by `private_key`).
    Rule {
        name: "google_api_key",
        anchors: &["aiza"],
        pattern: r"(?-u:\b)(?P<s>AIza[0-9A-Za-z_-]{35})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "google_oauth_client_secret",
        anchors: &["gocspx-"],
        pattern: r"(?-u:\b)(?P<s>GOCSPX-[0-9A-Za-z_-]{28})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "google_oauth_access_token",
        anchors: &["ya29."],
        pattern: r"(?-u:\b)(?P<s>ya29\.[0-9A-Za-z_-]{20,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "gcp_private_key_id",
        anchors: &["private_key_id"],
        pattern: r#"\\?"private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<s>[0-9a-f]{40})\\?""#,
        check: Check::Keyed,
        priority: P_KEYED,
    },
    // --- Package registries.
    Rule {
        name: "npm_token",
        anchors: &["npm_"],
        pattern: r"(?-u:\b)(?P<s>npm_[A-Za-z0-9]{36})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // PyPI tokens are macaroons: `pypi-` + base64url of a binary header that always
        // starts `AgE` (`AgEIcHlwaS5vcmc` for pypi.org).
        name: "pypi_token",
        anchors: &["pypi-age"],
        pattern: r"(?-u:\b)(?P<s>pypi-AgE[A-Za-z0-9_-]{50,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "dockerhub_pat",
        anchors: &["dckr_pat_"],
        pattern: r"(?-u:\b)(?P<s>dckr_pat_[A-Za-z0-9_-]{27,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- JSON Web Tokens: three base64url parts, header and payload JSON objects (`{"` is
    // `eyJ`); the signature may be empty (`alg: none`).
    Rule {
        name: "jwt",
        anchors: &["eyj"],
        pattern: r"(?-u:\b)(?P<s>eyJ[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Azure: storage/Service Bus shared keys inside connection strings, SAS signatures,
    // Entra ID (AD) client secrets (`Q~` after the fourth character).
    Rule {
        name: "azure_storage_key",
        anchors: &[
            "accountkey",
            "account_key",
            "sharedaccesskey",
            "shared_access_key",
        ],
        pattern: concat!(
            r"(?i)(?:account|shared[_.-]?access)[_.-]?key",
            assign!(),
            r"(?P<s>[A-Za-z0-9+/]{40,}={0,2})"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    Rule {
        name: "azure_sas_signature",
        anchors: &["sig="],
        pattern: r"(?-u:\b)sig=(?P<s>[A-Za-z0-9%+/]{30,}(?:%3[Dd]|=){0,2})",
        check: Check::Keyed,
        priority: P_KEYED,
    },
    Rule {
        name: "azure_ad_client_secret",
        anchors: &["q~"],
        pattern: r"(?P<s>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})",
        check: Check::AzureAdSecret,
        priority: P_PROVIDER,
    },
    // --- Twilio: API key SIDs (`SK` + 32 hex) and the account auth token (32 hex, so only
    // next to a `twilio...` key).
    Rule {
        name: "twilio_api_key",
        anchors: &["sk"],
        pattern: r"(?-u:\b)(?P<s>SK[0-9a-fA-F]{32})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "twilio_auth_token",
        anchors: &["twilio"],
        pattern: concat!(
            r"(?i)twilio",
            key_tail!(),
            assign!(),
            r"(?P<s>[0-9a-f]{32})(?-u:\b)"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    // --- E-mail and messaging providers.
    Rule {
        name: "sendgrid_api_key",
        anchors: &["sg."],
        pattern: r"(?-u:\b)(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // Legacy private API keys: `key-` + 32 hex.
        name: "mailgun_api_key",
        anchors: &["key-"],
        pattern: r"(?-u:\b)(?P<s>key-[0-9a-f]{32})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // Current keys (32 hex, `-`, 8 hex, `-`, 8 hex) have no prefix: next to `mailgun...`.
        name: "mailgun_api_key",
        anchors: &["mailgun"],
        pattern: concat!(
            r"(?i)mailgun",
            key_tail!(),
            assign!(),
            r"(?P<s>[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}|key-[0-9a-f]{32})(?-u:\b)"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    Rule {
        name: "telegram_bot_token",
        anchors: &[":aa"],
        // `\b`, or `bot` as in the Bot API's URLs (`/bot<token>/sendMessage`).
        pattern: r"(?:(?-u:\b)|bot)(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // base64(user id) . base64(timestamp) . HMAC; the first part is checked in code.
        name: "discord_bot_token",
        anchors: &[],
        pattern: r"(?-u:\b)(?P<s>[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40})",
        check: Check::DiscordBot,
        priority: P_PROVIDER,
    },
    Rule {
        name: "discord_webhook_url",
        anchors: &["/api/webhooks/"],
        pattern: concat!(
            r"(?P<s>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/",
            r"[A-Za-z0-9_-]{60,70})"
        ),
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Platforms.
    Rule {
        name: "heroku_api_key",
        anchors: &["hrku-"],
        pattern: r"(?-u:\b)(?P<s>HRKU-[A-Za-z0-9_-]{30,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        // Legacy keys are UUIDs: only next to a `heroku...key/token/secret` name.
        name: "heroku_api_key",
        anchors: &["heroku"],
        pattern: concat!(
            r"(?i)heroku[A-Za-z0-9_.-]*?(?:key|token|secret|password)",
            key_tail!(),
            assign!(),
            r"(?P<s>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?-u:\b)"
        ),
        check: Check::Keyed,
        priority: P_KEYED,
    },
    Rule {
        // Personal (dop_), OAuth (doo_) and refresh (dor_) tokens.
        name: "digitalocean_token",
        anchors: &["dop_v1_", "doo_v1_", "dor_v1_"],
        pattern: r"(?-u:\b)(?P<s>do[opr]_v1_[a-f0-9]{64})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "shopify_token",
        anchors: &["shpat_", "shpca_", "shppa_", "shpss_"],
        pattern: r"(?-u:\b)(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})(?-u:\b)",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "hashicorp_vault_token",
        anchors: &["hvs.", "hvb.", "hvr."],
        pattern: r"(?-u:\b)(?P<s>hv[sbr]\.[A-Za-z0-9_-]{24,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "age_secret_key",
        anchors: &["age-secret-key-1"],
        pattern: r"(?P<s>AGE-SECRET-KEY-1[0-9A-Z]{58})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- AI providers.
    Rule {
        name: "huggingface_token",
        anchors: &["hf_"],
        pattern: r"(?-u:\b)(?P<s>hf_[A-Za-z0-9]{34,40})(?-u:\b)",
        check: Check::TokenMixedCase,
        priority: P_PROVIDER,
    },
    Rule {
        // Project, service-account and admin keys; legacy keys carry `T3BlbkFJ` (base64
        // of "OpenAI") in the middle, or are `sk-` + 48 alphanumerics.
        name: "openai_api_key",
        anchors: &["sk-"],
        pattern: concat!(
            r"(?-u:\b)(?P<s>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}",
            r"|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}(?-u:\b)",
            r"|sk-[A-Za-z0-9]{48}(?-u:\b))"
        ),
        check: Check::Token,
        priority: P_PROVIDER,
    },
    Rule {
        name: "anthropic_api_key",
        anchors: &["sk-ant-"],
        pattern: r"(?-u:\b)(?P<s>sk-ant-(?:api|admin|oat|ort)[0-9]{2}-[A-Za-z0-9_-]{32,})",
        check: Check::Token,
        priority: P_PROVIDER,
    },
    // --- Credentials carried by a scheme rather than a provider.
    Rule {
        // `scheme://user:password@host`: only the password is replaced.
        name: "url_credentials",
        anchors: &["://"],
        pattern: concat!(
            r"[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^\s:/?#@",
            r#""'<>\[\]\\]*):(?P<s>[^\s/?#@"'<>\[\]\\]+)@"#
        ),
        check: Check::UrlPassword,
        priority: P_SCHEME,
    },
    Rule {
        name: "basic_auth",
        anchors: &["basic"],
        pattern: r"(?i)(?-u:\b)basic[ \t]+(?P<s>[A-Za-z0-9+/]{6,}={0,2})",
        check: Check::BasicAuth,
        priority: P_SCHEME,
    },
    Rule {
        name: "bearer_token",
        anchors: &["bearer"],
        pattern: r"(?i)(?-u:\b)bearer[ \t]+(?P<s>[A-Za-z0-9._~+/_-]{16,}=*)",
        check: Check::Bearer,
        priority: P_SCHEME,
    },
    // --- Generic assignments: a key naming a password, secret, token or key, then a value
    // that passes the entropy and placeholder checks of `checks::assignment`.
    Rule {
        name: "generic_secret",
        anchors: &[
            "passw",
            "passphrase",
            "pwd",
            "secret",
            "token",
            "key",
            "credential",
        ],
        pattern: concat!(
            r"(?P<kw>(?i:passw(?:or)?d|passphrase|pwd|secret|token|api[_.-]?key",
            r"|(?:access|auth|private|signing|encryption|master|session)[_.-]?key|credentials?))",
            key_tail!(),
            r#"\\?["']?(?:[ \t]*(?P<op>=|:=|=>|:)[ \t]*|[ \t]+)(?P<q>\\?["'`])?"#,
            r#"(?P<s>[^\s"'`\\]+)"#
        ),
        check: Check::Assignment,
        priority: P_GENERIC,
    },
];
