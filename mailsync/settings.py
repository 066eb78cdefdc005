"""Settings for mailsync, read from the environment.

Every value has a default that runs the demo on embedded pieces (SQLite and the
django-q2 ORM broker); production sets DATABASE_URL, REDIS_URL and SECRET_KEY.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

from mailsync.env import EnvError, envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise EnvError("SECRET_KEY must be set when DEBUG is not True")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # naturaltime ("2 minutes ago") on the dashboard.
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "template_partials",
    # Google sign-in (see "Sign-in" below).
    "social_django",
    # Sign-in throttling (see "Failed sign-ins" below).
    "axes",
    "syncapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files in production (see "Static files" below), before anything else runs.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every answer (mailsync/security.py).
    "mailsync.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a failed Google sign-in into a message on the login page instead of a 500.
    "social_django.middleware.SocialAuthExceptionMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mailsync.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mailsync.wsgi.application"

# SQLite is the embedded default. WAL lets the web server read while a worker
# writes; IMMEDIATE transactions take the write lock up front, so two writers
# wait on busy_timeout instead of failing with "database is locked" mid-way.
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'mailsync.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# Persistent connections, checked before reuse. A worker process holds at most
# three per slice it executes (the slice's thread, its heartbeat thread and the
# sync's writer thread, which close theirs when the slice ends) and one for its
# liveness thread: 4 for an interactive or incremental worker, 1 + 3 x
# SYNC_SLICES_PER_WORKER for a bulk one. Behind PgBouncer in transaction mode set
# CONN_MAX_AGE=0 and DISABLE_SERVER_SIDE_CURSORS=True (see README).
DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 0 if _SQLITE else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = envbool("DISABLE_SERVER_SIDE_CURSORS", False)
if _SQLITE:
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
# Tests share their database with worker subprocesses, so on SQLite it is a
# file; tests/environment.py names it per test process.
TEST_DATABASE_NAME = envstr("TEST_DATABASE_NAME", "")
if TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------
# WhiteNoise serves them from the web process. `collectstatic` writes them to
# STATIC_ROOT compressed (gzip) under names carrying their content's hash, which
# are then cached for ever. With DEBUG on, pages link the plain names and
# runserver serves them. STATIC_MANIFEST=False keeps the plain names with DEBUG
# off, served from the source folders: the tests, which never run collectstatic.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_MANIFEST = envbool("STATIC_MANIFEST", True)
# Every synced message's original (RFC 822 source, compressed, named by its sha256) is
# kept in the "mail" storage (syncapp/originals.py): a folder by default
# (syncapp/originalstorage.py, which never leaves a partial file). Any Django
# storage backend works, e.g. django-storages' S3Storage for S3-compatible object
# storage (install it and set MAIL_STORAGE_BACKEND=storages.backends.s3.S3Storage and
# its options, see the README).
MAIL_STORAGE_DIR = Path(envstr("MAIL_STORAGE_DIR", str(BASE_DIR / "var" / "mail")))
MAIL_STORAGE_BACKEND = envstr(
    "MAIL_STORAGE_BACKEND", "syncapp.originalstorage.OriginalFileSystemStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Originals are named by their content: writing one again writes the same bytes.
    "mail": {
        "BACKEND": MAIL_STORAGE_BACKEND,
        "OPTIONS": {"location": str(MAIL_STORAGE_DIR), "allow_overwrite": True}
        if MAIL_STORAGE_BACKEND.endswith("FileSystemStorage")
        else {},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_MANIFEST

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# The JSON API answers a failed CSRF check in JSON; pages keep Django's page.
CSRF_FAILURE_VIEW = "syncapp.views.errors.csrf_failure"

# --- Gmail -----------------------------------------------------------------
GMAIL_API_ENDPOINT = envstr("GMAIL_API_ENDPOINT", "https://gmail.googleapis.com/")
if not GMAIL_API_ENDPOINT.endswith("/"):
    GMAIL_API_ENDPOINT += "/"
GOOGLE_TOKEN_URI = envstr("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
GOOGLE_CLIENT_ID = envstr("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = envstr("GOOGLE_CLIENT_SECRET", "")
# Google's sign-in endpoints are settings too, so that the emulator can serve the
# whole sign-in dance in the demo and in the browser tests.
GOOGLE_AUTHORIZATION_URL = envstr(
    "GOOGLE_AUTHORIZATION_URL", "https://accounts.google.com/o/oauth2/auth"
)
GOOGLE_USERINFO_URL = envstr(
    "GOOGLE_USERINFO_URL", "https://www.googleapis.com/oauth2/v3/userinfo"
)
GMAIL_QUOTA_UNITS_PER_MINUTE = envint("GMAIL_QUOTA_UNITS_PER_MINUTE", 6000, minimum=1)
# Gmail's quota per project (every mailbox together), and the daily units past which
# Google bills: shared by every worker (syncapp/gmail/ledger.py).
GMAIL_PROJECT_QUOTA_UNITS_PER_MINUTE = envint(
    "GMAIL_PROJECT_QUOTA_UNITS_PER_MINUTE", 1_200_000, minimum=1
)
GMAIL_DAILY_UNITS_BUDGET = envint("GMAIL_DAILY_UNITS_BUDGET", 80_000_000, minimum=1)
# Push notifications (syncapp/push.py, syncapp/watches.py): mailboxes are watched on this
# Cloud Pub/Sub topic ("projects/P/topics/T"); empty: no watches, polling only.
GMAIL_PUBSUB_TOPIC = envstr("GMAIL_PUBSUB_TOPIC", "")
# POST /gmail/push/ takes a delivery only with a token Google signed (its certificates
# here) for this audience (the push subscription's; by default its endpoint URL) and
# naming this service account. An empty audience refuses every delivery.
GOOGLE_OIDC_CERTS_URL = envstr(
    "GOOGLE_OIDC_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs"
)
GMAIL_PUSH_AUDIENCE = envstr("GMAIL_PUSH_AUDIENCE", "")
GMAIL_PUSH_SERVICE_ACCOUNT = envstr("GMAIL_PUSH_SERVICE_ACCOUNT", "")
# Messages the sync hands the client at a time; a batch request holds at most this many.
GMAIL_BATCH_SIZE = envint("GMAIL_BATCH_SIZE", 50, minimum=1)
if GMAIL_BATCH_SIZE > 50:
    raise EnvError("GMAIL_BATCH_SIZE must be at most 50: Gmail rejects larger batches")
# Messages in one batch when fetching originals (format=raw): each carries its whole
# source, attachments included, so fewer than for the other formats. With
# GMAIL_CONCURRENT_BATCHES this is what bounds the mail a sync holds at once.
GMAIL_RAW_BATCH_SIZE = envint("GMAIL_RAW_BATCH_SIZE", min(20, GMAIL_BATCH_SIZE), minimum=1)
if GMAIL_RAW_BATCH_SIZE > GMAIL_BATCH_SIZE:
    raise EnvError("GMAIL_RAW_BATCH_SIZE must be at most GMAIL_BATCH_SIZE")
# Messages larger than this (Gmail's `larger:` search lists them, once per slice) are
# fetched on their own, one at a time in a process, never in a batch: a batch answer is
# held whole, several times over, while it is read. With GMAIL_RAW_BATCH_SIZE and
# GMAIL_CONCURRENT_BATCHES it bounds the mail a sync holds at once.
GMAIL_LARGE_MESSAGE_BYTES = envint("GMAIL_LARGE_MESSAGE_BYTES", 1_000_000, minimum=1)
# Threads fetching batches at once per mailbox. Gmail limits the calls in flight per
# user, counting each inner call of a batch: the client shares its calls in flight
# between these threads and adapts them to that limit (syncapp/gmail/inflight.py),
# never beyond GMAIL_BATCH_SIZE x GMAIL_CONCURRENT_BATCHES.
GMAIL_CONCURRENT_BATCHES = envint("GMAIL_CONCURRENT_BATCHES", 3, minimum=1)
# A single HTTP call that takes longer than this is abandoned and retried.
GMAIL_REQUEST_TIMEOUT_SECONDS = envint("GMAIL_REQUEST_TIMEOUT_SECONDS", 60, minimum=1)
# How long one call may keep retrying (429s, 5xx, dropped connections) before
# the run fails; bounded so that a run always ends.
GMAIL_RETRY_BUDGET_SECONDS = envint("GMAIL_RETRY_BUDGET_SECONDS", 600, minimum=1)

# --- Sync runs ---------------------------------------------------------------
SYNC_HEARTBEAT_SECONDS = envint("SYNC_HEARTBEAT_SECONDS", 15, minimum=1)
SYNC_STALE_SECONDS = envint("SYNC_STALE_SECONDS", 60, minimum=1)
if SYNC_STALE_SECONDS <= SYNC_HEARTBEAT_SECONDS:
    raise EnvError("SYNC_STALE_SECONDS must be longer than SYNC_HEARTBEAT_SECONDS")
# A run's work executes as slices of at most this long: each saves its checkpoint
# and queues the next, so no task outlives a deploy or holds a worker for hours.
SYNC_SLICE_SECONDS = envint("SYNC_SLICE_SECONDS", 300, minimum=1)
# django-q2's task timeout, above a slice: a slice that still outlives it is
# interrupted, and the next slice continues from its checkpoint.
SYNC_TASK_TIMEOUT_SECONDS = envint("SYNC_TASK_TIMEOUT_SECONDS", 900, minimum=2)
if SYNC_TASK_TIMEOUT_SECONDS <= SYNC_SLICE_SECONDS:
    raise EnvError("SYNC_TASK_TIMEOUT_SECONDS must be longer than SYNC_SLICE_SECONDS")
# A run interrupted this many times in a row without progress (a message that
# kills its worker, say) fails instead of looping forever.
SYNC_MAX_INTERRUPTIONS = envint("SYNC_MAX_INTERRUPTIONS", 3, minimum=1)
# A bulk worker process executes this many slices at once, each in its thread: a
# slice mostly waits on Gmail, whose answers come at one mailbox's pace.
SYNC_SLICES_PER_WORKER = envint("SYNC_SLICES_PER_WORKER", 4, minimum=1)
SYNC_PROGRESS_INTERVAL_SECONDS = 1.0
# A queued run fails when no worker has been alive for this long.
SYNC_QUEUE_TIMEOUT_SECONDS = envint("SYNC_QUEUE_TIMEOUT_SECONDS", 600, minimum=1)
# A queued run beside a worker idle for this long has lost its task.
SYNC_QUEUE_GRACE_SECONDS = envint("SYNC_QUEUE_GRACE_SECONDS", 30, minimum=1)
# Automatic retries of a run that died, after growing delays (base, 2x, 4x...).
SYNC_MAX_RETRIES = envint("SYNC_MAX_RETRIES", 3)
SYNC_RETRY_DELAY_SECONDS = envint("SYNC_RETRY_DELAY_SECONDS", 30, minimum=1)
SYNC_INTERVAL_MINUTES = envint("SYNC_INTERVAL_MINUTES", 15, minimum=1)
# A mailbox with a live watch is polled this rarely: push brings its changes, and
# the poll catches what a lost notification missed.
SYNC_PUSH_FALLBACK_HOURS = envint("SYNC_PUSH_FALLBACK_HOURS", 6, minimum=1)
# Starts a user may ask for through the JSON API per minute; past it, 429.
SYNC_API_STARTS_PER_MINUTE = envint("SYNC_API_STARTS_PER_MINUTE", 10, minimum=1)
# Finished runs kept per mailbox; older ones are pruned daily.
SYNC_KEEP_RUNS = envint("SYNC_KEEP_RUNS", 100, minimum=1)

# --- django-q2 ---------------------------------------------------------------
# A sync must never run twice because of the queue itself: our own claim
# (CREATED -> RUNNING) already makes a duplicate delivery harmless, and these
# settings keep the queue from producing one.
# - timeout above the longest run, so a healthy run is never killed;
# - retry above the timeout, else the ORM broker hands a long, still running
#   task to a second worker;
# - max_attempts 1 and ack_failures, so a failed task is acknowledged, not
#   redelivered (a failed run is retried by us, from its checkpoint);
# - catch_up off, so a scheduler that was down does not replay every missed
#   slot at once.
REDIS_URL = envstr("REDIS_URL", "")
# The site's name for django-q2 (its prefix), and its queue when lanes are off.
SYNC_QUEUE = envstr("SYNC_QUEUE", "mailsync")
# Lanes: clicks, incremental syncs and bulk full-sync slices each have a queue
# ("<SYNC_QUEUE>.<lane>") and clusters of their own (`manage.py syncworkers`),
# so a click never waits behind bulk work. Off: one queue for everything.
SYNC_LANES = envbool("SYNC_LANES", True)
SYNC_LANE_NAMES = ("interactive", "incremental", "bulk")
Q_WORKERS = envint("Q_WORKERS", 2, minimum=1)
Q_CLUSTER = {
    # A cluster serves the queue named like it: SYNC_QUEUE, or a lane's queue
    # when started with Q_CLUSTER_NAME="<SYNC_QUEUE>.<lane>" (see syncworkers).
    "name": SYNC_QUEUE,
    "workers": Q_WORKERS,
    "timeout": SYNC_TASK_TIMEOUT_SECONDS,
    # Above the timeout, else a slice still running is delivered again.
    "retry": SYNC_TASK_TIMEOUT_SECONDS + 300,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.1,
    "label": "Task queue",
    # A bulk cluster takes one slice per worker at a time and holds no more in
    # memory, so slices it cannot start yet stay in the queue for others.
    "ALT_CLUSTERS": {
        f"{SYNC_QUEUE}.{lane}": {"queue_limit": Q_WORKERS if lane == "bulk" else Q_WORKERS**2}
        for lane in SYNC_LANE_NAMES
    },
}
# The cache holds the API's start counters (syncapp.throttle): shared through Redis
# when there is one, else per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not REDIS_URL
    else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Sign-in -----------------------------------------------------------------
# Local accounts through Django's auth views; Google accounts through
# social-auth, whose backend (syncapp.social) reads the GOOGLE_* settings above
# at request time. The Google button shows only when a client id and secret are set.
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Then: refuses a sign-in tried too soon after failures (see "Failed sign-ins").
    "syncapp.signin.SignInSlowDownBackend",
    "syncapp.social.GoogleGmailOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
# social-core's default pipeline with three changes: an address that is already a
# user's mailbox signs in as that user and is never attached to another one
# (mailbox_owner_check); the tokens are kept on the Mailbox that syncs with them
# (not copied into UserSocialAuth.extra_data); and connecting a Gmail account does
# not rename the signed-in user.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_names",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "syncapp.social.mailbox_owner_check",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "syncapp.social.mailbox_connect",
)
# social-core's disconnect pipeline, with the mailbox's tokens deleted (ours are
# not in UserSocialAuth.extra_data, so its own revoke_tokens step finds none).
SOCIAL_AUTH_DISCONNECT_PIPELINE = (
    "social_core.pipeline.disconnect.allowed_to_disconnect",
    "social_core.pipeline.disconnect.get_entries",
    "syncapp.social.mailbox_forget_tokens",
    "social_core.pipeline.disconnect.disconnect",
)
# Where a failed or cancelled sign-in lands, with the reason as a message.
SOCIAL_AUTH_LOGIN_ERROR_URL = "/accounts/login/"
# Even with DEBUG on (the demo): a refused connection is a message, not a traceback.
SOCIAL_AUTH_RAISE_EXCEPTIONS = False
# Behind a TLS-terminating proxy the redirect URI Google sees must be https.
SOCIAL_AUTH_REDIRECT_IS_HTTPS = envbool("OAUTH_REDIRECT_IS_HTTPS", envbool("TLS_PROXY", False))

# --- Security ----------------------------------------------------------------
# TLS_PROXY=True: a proxy in front terminates TLS and says so in
# X-Forwarded-Proto (it must set or strip that header on every request). Then
# plain http is redirected to https (but /health/, for monitors inside), and
# browsers are told to use https only (HSTS).
TLS_PROXY = envbool("TLS_PROXY", False)
if TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", TLS_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if TLS_PROXY else 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Failed sign-ins ------------------------------------------------------------
# django-axes counts failed password sign-ins (the login page, the admin's, and so
# the API's session) per username and, separately, per client address. From
# LOGIN_SLOWDOWN_AFTER failures on, the next attempt must wait LOGIN_SLOWDOWN_SECONDS
# after the last failure, then twice, four times as long... (syncapp.signin; sooner
# is answered 429 "try again in N seconds", unchecked and uncounted); at
# LOGIN_FAILURE_LIMIT either is locked for LOGIN_LOCKOUT_MINUTES (429 and a page
# that says so; tries during the lock do not extend it). Behind TLS_PROXY the
# address is the proxy's last X-Forwarded-For.
LOGIN_SLOWDOWN_AFTER = envint("LOGIN_SLOWDOWN_AFTER", 2, minimum=1)
LOGIN_SLOWDOWN_SECONDS = envint("LOGIN_SLOWDOWN_SECONDS", 1, minimum=1)
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "syncapp.views.accounts.signin_refused"
# A refused try is not a failure: it neither extends a lock nor a slow-down.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "mailsync.security.client_ip"
AXES_VERBOSE = False

# --- Tokens at rest -------------------------------------------------------------
# Fernet keys (32 url-safe base64 bytes each: `python -c "from cryptography.fernet
# import Fernet; print(Fernet.generate_key().decode())"`), comma-separated. The first
# encrypts; all decrypt. Rotate: put a new key first, run `manage.py reencrypt_tokens`,
# then drop the old one. Required with DEBUG off; the demo and tests use fixed keys.
TOKEN_ENCRYPTION_KEYS = envlist("TOKEN_ENCRYPTION_KEYS", [])
if not TOKEN_ENCRYPTION_KEYS:
    if not DEBUG:
        raise EnvError("TOKEN_ENCRYPTION_KEYS must be set when DEBUG is not True")
    TOKEN_ENCRYPTION_KEYS = ["aW5zZWN1cmUtZGV2LWtleS1ub3QtZm9yLXByb2QhISE="]
for _key in TOKEN_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise EnvError(
            "TOKEN_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)"
        ) from None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Everything reaches standard error through the root logger: warnings and errors
    # of every library, each unhandled exception of a request with its traceback
    # (django.request), and mailsync's own log at LOG_LEVEL.
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "syncapp": {"level": envstr("LOG_LEVEL", "INFO")},
    },
}
