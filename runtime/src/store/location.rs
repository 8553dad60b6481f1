//! Where results live: a local directory, `s3://bucket/prefix`, or `memory://name/prefix`
//! (an in-process store, for tests and for embedding flow as a library).

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, LazyLock, Mutex};

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::object_store::ObjectStoreUrl;
use flow_dsl::S3Options;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

use super::aws_config;

/// A results location, resolved to the object store that holds it.
#[derive(Debug, Clone)]
pub struct StoreLocation {
    /// The location as people read it (an absolute directory, or a URL).
    pub display: String,
    /// The store's root URL, as registered with DataFusion (`file:///`, `s3://bucket`, …).
    pub root: ObjectStoreUrl,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The results' prefix inside the store.
    pub prefix: Path,
}

/// In-process stores by name, so `memory://name` means the same store for a whole process.
static MEMORY_STORES: LazyLock<Mutex<HashMap<String, Arc<InMemory>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl StoreLocation {
    /// Resolves `location`: relative directories against `base_dir`, S3 with credentials and
    /// region from the environment (or `~/.aws`), plus the pipeline's `s3` settings. A local
    /// directory is created when `create` is set and must exist otherwise.
    pub fn resolve(
        location: &str,
        base_dir: &FsPath,
        s3: &S3Options,
        create: bool,
    ) -> Result<Self, String> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("the S3 URL has no bucket (`s3://bucket/prefix`)".to_owned());
            }
            let store = s3_store(bucket, s3)?;
            return Ok(Self {
                display: format!("s3://{bucket}/{}", prefix.trim_matches('/')),
                root: store_url(&format!("s3://{bucket}"))?,
                store,
                prefix: Path::from(prefix.trim_matches('/')),
            });
        }
        if let Some(rest) = location.strip_prefix("memory://") {
            let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if name.is_empty() {
                return Err("the memory URL has no name (`memory://name/prefix`)".to_owned());
            }
            let store = MEMORY_STORES
                .lock()
                .map_err(|_| "the in-memory store registry is poisoned".to_owned())?
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(InMemory::new()))
                .clone();
            return Ok(Self {
                display: format!("memory://{name}/{}", prefix.trim_matches('/')),
                root: store_url(&format!("memory://{name}"))?,
                store,
                prefix: Path::from(prefix.trim_matches('/')),
            });
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        let dir = base_dir.join(dir);
        if create {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
        }
        let dir = std::fs::canonicalize(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("there is no directory {}", dir.display()),
            _ => format!("cannot open {}: {e}", dir.display()),
        })?;
        if !dir.is_dir() {
            return Err(format!("{} is a file, not a directory", dir.display()));
        }
        let prefix = Path::from_absolute_path(&dir)
            .map_err(|e| format!("cannot use {} as a location: {e}", dir.display()))?;
        Ok(Self {
            display: dir.display().to_string(),
            root: store_url("file:///")?,
            store: Arc::new(LocalFileSystem::new()),
            prefix,
        })
    }

    /// The path of `relative` (`evaluations/run_id=…/part-00000.parquet`) in the store.
    pub fn path(&self, relative: &str) -> Path {
        let mut path = self.prefix.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        path
    }

    /// The URL DataFusion lists a directory of the results by (`…/evaluations/`).
    pub fn table_url(&self, relative_dir: &str) -> Result<ListingTableUrl, String> {
        let root = self.root.as_str().trim_end_matches('/');
        let path = self.path(relative_dir);
        let encoded: Vec<String> = path.parts().map(|p| p.as_ref().to_owned()).collect();
        let url = format!("{root}/{}/", encoded.join("/"));
        let url = url::Url::parse(&url).map_err(|e| format!("invalid URL {url}: {e}"))?;
        ListingTableUrl::try_new(url, None).map_err(|e| e.to_string())
    }
}

fn store_url(url: &str) -> Result<ObjectStoreUrl, String> {
    ObjectStoreUrl::parse(url).map_err(|e| e.to_string())
}

/// How long one S3 request is retried when the pipeline does not say.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(120);

/// How S3 requests that fail for transient reasons (connection refused, 5xx, throttling)
/// are retried: exponential backoff from 100 ms up to 5 s between attempts, with jitter,
/// for at most `timeout` per request. Only the time counts: with jitter, a count of
/// attempts runs out after an unpredictable time (40 of them lasted 13 s).
pub fn s3_retry(timeout: Duration) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: usize::MAX,
        retry_timeout: timeout,
    }
}

/// An S3 client for `bucket`: the environment first (`AWS_ACCESS_KEY_ID`, `AWS_REGION`,
/// `AWS_ENDPOINT`, …), then the shared AWS config files for what it leaves unset, then the
/// pipeline's settings on top; transient failures are retried ([`s3_retry`], for the
/// pipeline's `retry-timeout` or [`DEFAULT_RETRY_TIMEOUT`]).
pub fn s3_store(bucket: &str, options: &S3Options) -> Result<Arc<dyn ObjectStore>, String> {
    let mut builder = aws_config::apply_profile(AmazonS3Builder::from_env())
        .with_bucket_name(bucket)
        .with_retry(s3_retry(
            options.retry_timeout.unwrap_or(DEFAULT_RETRY_TIMEOUT),
        ));
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if options.allow_http {
        builder = builder.with_allow_http(true);
    }
    let store = builder
        .build()
        .map_err(|e| format!("cannot set up the S3 client for bucket `{bucket}`: {e}"))?;
    Ok(Arc::new(store))
}
