//! Start and stop a real `tritonserver` (2.51.0 from the `nvidia-pytriton` wheel) for
//! ground-truth tests, with small python-backend models built in a temp dir.
//!
//! ```ignore
//! let Some(triton) = Triton::from_env() else { return };
//! let repo = ModelRepo::new();
//! repo.add_identity_py("identity_py");
//! let server = triton.start(ServerOptions::new(&repo).arg("--model-control-mode=explicit")).unwrap();
//! let r = server.post("/v2/repository/models/identity_py/load", None).unwrap();
//! assert_eq!(r.status, 200, "{}", r.text());
//! let stopped = server.stop();
//! ```
//!
//! Every server gets fresh loopback ports for HTTP, gRPC and metrics and binds all three
//! to 127.0.0.1 unless a test asks otherwise ([`ServerOptions::omit_bind_flag`]). Output
//! goes to files (no pipe can fill up and block the server). Dropping a [`Server`] stops
//! it, so a failing test does not leave servers behind.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::http::{self, Response};
use super::tools::{TRITON_BACKENDS, TRITON_VENV_BIN, TRITONSERVER, require_tools};

/// The model code of the reference `identity_py` model: OUTPUT0 = INPUT0.
pub const IDENTITY_MODEL_PY: &str = r#"import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            in0 = pb_utils.get_input_tensor_by_name(request, "INPUT0")
            out0 = pb_utils.Tensor("OUTPUT0", in0.as_numpy())
            responses.append(pb_utils.InferenceResponse(output_tensors=[out0]))
        return responses
"#;

/// A complete `config.pbtxt` for an identity python model called `name`.
pub fn identity_config(name: &str) -> String {
    format!(
        r#"name: "{name}"
backend: "python"
max_batch_size: 0
input [
  {{
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }}
]
output [
  {{
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }}
]
instance_group [ {{ kind: KIND_CPU, count: 1 }} ]
"#
    )
}

/// Request body for one inference on an identity model.
pub const IDENTITY_INFER_BODY: &str =
    r#"{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[3],"data":[1,2,3]}]}"#;

/// Writes `<dir>/<name>/config.pbtxt` (when `config` is given) and `<dir>/<name>/1/model.py`.
pub fn write_model(dir: &Path, name: &str, config: Option<&str>, model_py: &str) -> io::Result<()> {
    let model = dir.join(name);
    fs::create_dir_all(model.join("1"))?;
    if let Some(config) = config {
        fs::write(model.join("config.pbtxt"), config)?;
    }
    fs::write(model.join("1").join("model.py"), model_py)
}

/// A model repository in a temp dir, removed on drop.
pub struct ModelRepo {
    dir: tempfile::TempDir,
}

impl ModelRepo {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tg-models-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp model repository: {e}"));
        ModelRepo { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a python model; `config: None` leaves out `config.pbtxt`.
    pub fn add_model(&self, name: &str, config: Option<&str>, model_py: &str) -> &Self {
        write_model(self.path(), name, config, model_py)
            .unwrap_or_else(|e| panic!("cannot write model {name}: {e}"));
        self
    }

    /// Adds the reference identity model under `name`.
    pub fn add_identity_py(&self, name: &str) -> &Self {
        self.add_model(name, Some(&identity_config(name)), IDENTITY_MODEL_PY)
    }

    /// Adds a model while a server may be polling: it is written next to the repository
    /// and renamed into place, so a poll never sees a half-written model.
    pub fn add_model_atomically(&self, name: &str, config: Option<&str>, model_py: &str) -> &Self {
        let staging = tempfile::Builder::new()
            .prefix("tg-staging-")
            .tempdir_in(self.path().parent().unwrap_or(Path::new("/tmp")))
            .unwrap_or_else(|e| panic!("cannot create a staging dir: {e}"));
        write_model(staging.path(), name, config, model_py)
            .unwrap_or_else(|e| panic!("cannot write model {name}: {e}"));
        fs::rename(staging.path().join(name), self.path().join(name))
            .unwrap_or_else(|e| panic!("cannot move model {name} into the repository: {e}"));
        self
    }
}

impl Default for ModelRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// The installed server: binary, backend dir and the venv whose `bin` must lead `PATH`.
#[derive(Debug, Clone)]
pub struct Triton {
    pub bin: PathBuf,
    pub backends: PathBuf,
    pub venv_bin: PathBuf,
}

/// A process that ran to its end.
#[derive(Debug)]
pub struct Exited {
    /// `None` when it had to be killed after the timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Exited {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }
}

/// Which `--*-address` flags the helper passes (each to 127.0.0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Http,
    Grpc,
    Metrics,
}

/// When a starting server counts as up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// `GET /v2/health/ready` answers 200.
    Ready,
    /// `GET /v2/health/live` answers 200 (models may still be loading or failed).
    Live,
}

/// How to start one server. Built with [`ServerOptions::new`] and the chainable setters.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    repos: Vec<PathBuf>,
    repository_flag: String,
    args: Vec<String>,
    omit_bind: HashSet<Endpoint>,
    wait: WaitFor,
    startup_timeout: Duration,
    stop_timeout: Duration,
}

impl ServerOptions {
    /// A server on this repository with default flags (model control mode `none`).
    pub fn new(repo: &ModelRepo) -> Self {
        Self::with_repo_path(repo.path())
    }

    pub fn with_repo_path(path: &Path) -> Self {
        ServerOptions {
            repos: vec![path.to_path_buf()],
            repository_flag: "--model-repository".into(),
            args: Vec::new(),
            omit_bind: HashSet::new(),
            wait: WaitFor::Ready,
            startup_timeout: Duration::from_secs(90),
            stop_timeout: Duration::from_secs(20),
        }
    }

    /// Pass the repository with this flag instead of `--model-repository` (e.g. `--model-store`).
    pub fn repository_flag(mut self, flag: &str) -> Self {
        self.repository_flag = flag.into();
        self
    }

    /// One extra argv word, after the helper's own flags (so a later value wins).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Do not pass `--<endpoint>-address=127.0.0.1`: the server uses its default (or a
    /// value from [`ServerOptions::arg`]).
    pub fn omit_bind_flag(mut self, endpoint: Endpoint) -> Self {
        self.omit_bind.insert(endpoint);
        self
    }

    pub fn wait_for(mut self, wait: WaitFor) -> Self {
        self.wait = wait;
        self
    }

    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.startup_timeout = t;
        self
    }

    pub fn stop_timeout(mut self, t: Duration) -> Self {
        self.stop_timeout = t;
        self
    }
}

/// Why a server did not come up.
#[derive(Debug)]
pub enum StartError {
    /// The process ended during start-up.
    Exited(Exited),
    /// It did not become ready in time; it was stopped, here is what it printed.
    Timeout {
        waited: Duration,
        log: String,
    },
    Io(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Exited(e) => write!(
                f,
                "tritonserver exited during start-up with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                e.status, e.stdout, e.stderr
            ),
            StartError::Timeout { waited, log } => {
                write!(
                    f,
                    "tritonserver not ready after {waited:?}\n--- log ---\n{log}"
                )
            }
            StartError::Io(e) => write!(f, "cannot run tritonserver: {e}"),
        }
    }
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        StartError::Io(e)
    }
}

/// Ports handed out in this test process, so two servers started at once never get the
/// same one.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback port that was free a moment ago and has not been handed out before.
pub fn free_port() -> io::Result<u16> {
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut seen = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
        if seen.insert(port) {
            return Ok(port);
        }
    }
}

impl Triton {
    /// The installed server from the `TG_*` variables, or `None` (skipped) outside CI.
    pub fn from_env() -> Option<Triton> {
        let [bin, backends, venv_bin] =
            require_tools([TRITONSERVER, TRITON_BACKENDS, TRITON_VENV_BIN])?;
        Some(Triton {
            bin,
            backends,
            venv_bin,
        })
    }

    /// A command for the server binary with the venv first on `PATH`: the python stub
    /// imports numpy from whatever `python3` it finds there.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.venv_bin.clone()];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            cmd.env("PATH", joined);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs the server with exactly `args` until it exits (killed after `timeout`), for
    /// argv that must fail at start-up. Nothing is added to `args`.
    pub fn run_to_exit(&self, args: &[&str], timeout: Duration) -> io::Result<Exited> {
        let dir = tempfile::Builder::new()
            .prefix("tg-triton-run-")
            .tempdir()?;
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = self
            .command()
            .args(args)
            .current_dir(dir.path())
            .stdout(fs::File::create(&out)?)
            .stderr(fs::File::create(&err)?)
            .spawn()?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                kill_tree(&mut child, Duration::ZERO);
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Exited {
            status,
            stdout: read_lossy(&out),
            stderr: read_lossy(&err),
        })
    }

    /// `tritonserver --help` output (2.51 prints it on stderr and exits 1).
    pub fn help_text(&self) -> io::Result<String> {
        let run = self.run_to_exit(&["--help"], Duration::from_secs(30))?;
        Ok(format!("{}{}", run.stdout, run.stderr))
    }

    /// Starts a server and waits until it is up. Retries (with new ports) when a port was
    /// taken between choosing it and the server binding it.
    pub fn start(&self, opts: ServerOptions) -> Result<Server, StartError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.start_once(&opts) {
                Err(StartError::Exited(e))
                    if attempt < 3
                        && (e.stderr.contains("Address already in use")
                            || e.stdout.contains("Address already in use")) => {}
                other => return other,
            }
        }
    }

    fn start_once(&self, opts: &ServerOptions) -> Result<Server, StartError> {
        let dir = tempfile::Builder::new().prefix("tg-triton-").tempdir()?;
        let (http_port, grpc_port, metrics_port) = (free_port()?, free_port()?, free_port()?);
        let mut argv: Vec<String> = Vec::new();
        for repo in &opts.repos {
            argv.push(format!("{}={}", opts.repository_flag, repo.display()));
        }
        argv.push(format!("--backend-directory={}", self.backends.display()));
        argv.push(format!("--http-port={http_port}"));
        argv.push(format!("--grpc-port={grpc_port}"));
        argv.push(format!("--metrics-port={metrics_port}"));
        for (endpoint, flag) in [
            (Endpoint::Http, "--http-address=127.0.0.1"),
            (Endpoint::Grpc, "--grpc-address=127.0.0.1"),
            (Endpoint::Metrics, "--metrics-address=127.0.0.1"),
        ] {
            if !opts.omit_bind.contains(&endpoint) {
                argv.push(flag.into());
            }
        }
        argv.extend(opts.args.iter().cloned());

        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let child = self
            .command()
            .args(&argv)
            .current_dir(dir.path())
            .stdout(fs::File::create(&out)?)
            .stderr(fs::File::create(&err)?)
            .spawn()?;
        let loopback = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let mut server = Server {
            child,
            http: loopback(http_port),
            grpc: loopback(grpc_port),
            metrics: loopback(metrics_port),
            argv,
            stdout_path: out,
            stderr_path: err,
            stop_timeout: opts.stop_timeout,
            stopped: None,
            _dir: dir,
        };

        let health = match opts.wait {
            WaitFor::Ready => "/v2/health/ready",
            WaitFor::Live => "/v2/health/live",
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                let exited = Exited {
                    status: Some(status),
                    stdout: read_lossy(&server.stdout_path),
                    stderr: read_lossy(&server.stderr_path),
                };
                server.stopped = Some(status);
                return Err(StartError::Exited(exited));
            }
            // The HTTP endpoint answers ~40 ms before the metrics endpoint binds (the
            // server starts gRPC, HTTP, then metrics): a test that reads metrics right
            // after start-up must not see a refused connection.
            if let Ok(r) = http::get(server.http, health)
                && r.status == 200
                && (!metrics_enabled(&server.argv)
                    || server.log().contains("Started Metrics Service"))
            {
                return Ok(server);
            }
            if started.elapsed() >= opts.startup_timeout {
                let log = server.log();
                let _ = server.stop_in_place();
                return Err(StartError::Timeout {
                    waited: started.elapsed(),
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether the server will start its metrics endpoint: the last `--allow-metrics` value
/// wins, the server reads its booleans case-insensitively, and getopt takes any unambiguous
/// prefix of the flag (`--allow-metric=false`, `--allow-m off`).
pub fn metrics_enabled(argv: &[String]) -> bool {
    const FLAG: &str = "allow-metrics";
    // `--allow-` alone is ambiguous (allow-http, allow-grpc, ...); `--allow-m` is not.
    const SHORTEST: usize = "allow-m".len();
    let mut enabled = true;
    let mut words = argv.iter();
    while let Some(word) = words.next() {
        let Some(option) = word.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (option, None),
        };
        if name.len() < SHORTEST || !FLAG.starts_with(name) {
            continue;
        }
        if let Some(value) = inline.or_else(|| words.next().cloned()) {
            enabled = !matches!(value.to_ascii_lowercase().as_str(), "false" | "0" | "off");
        }
    }
    enabled
}

/// A running server. Dropping it stops it.
pub struct Server {
    child: Child,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    /// The argv the helper passed (without the binary).
    pub argv: Vec<String>,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    stop_timeout: Duration,
    stopped: Option<ExitStatus>,
    _dir: tempfile::TempDir,
}

/// How a server ended.
#[derive(Debug)]
pub struct Stopped {
    /// `None` if it had to be killed and its status could not be read.
    pub status: Option<ExitStatus>,
    /// True when SIGTERM was not enough and SIGKILL was sent.
    pub killed: bool,
    pub elapsed: Duration,
    pub log: String,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout followed by stderr, as printed so far.
    pub fn log(&self) -> String {
        format!(
            "{}{}",
            read_lossy(&self.stdout_path),
            read_lossy(&self.stderr_path)
        )
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> io::Result<Response> {
        http::request(self.http, method, path, headers, body.map(str::as_bytes))
    }

    pub fn get(&self, path: &str) -> io::Result<Response> {
        http::get(self.http, path)
    }

    pub fn post(&self, path: &str, body: Option<&str>) -> io::Result<Response> {
        http::post(self.http, path, body)
    }

    /// `GET /metrics` on the metrics port.
    pub fn metrics(&self) -> io::Result<Response> {
        http::get(self.metrics, "/metrics")
    }

    /// The TCP sockets this server process listens on, from `/proc` (IPv4-mapped IPv6
    /// addresses are shown as IPv4; an unspecified address means all interfaces).
    pub fn listening(&self) -> io::Result<Vec<SocketAddr>> {
        listening_sockets(self.pid())
    }

    /// The listening address on `port`, if any.
    pub fn listening_on(&self, port: u16) -> io::Result<Option<SocketAddr>> {
        Ok(self.listening()?.into_iter().find(|a| a.port() == port))
    }

    /// Polls `cond` every 200 ms until it holds or `timeout` passes; true if it held.
    pub fn wait_until(&self, timeout: Duration, mut cond: impl FnMut(&Server) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, wait up to the stop timeout, then SIGKILL the server and any python stub
    /// processes it started.
    pub fn stop(mut self) -> Stopped {
        self.stop_in_place()
    }

    fn stop_in_place(&mut self) -> Stopped {
        let started = Instant::now();
        if let Some(status) = self.stopped {
            return Stopped {
                status: Some(status),
                killed: false,
                elapsed: Duration::ZERO,
                log: self.log(),
            };
        }
        let (status, killed) = kill_tree(&mut self.child, self.stop_timeout);
        self.stopped = status;
        Stopped {
            status,
            killed,
            elapsed: started.elapsed(),
            log: self.log(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.stopped.is_none() {
            let _ = self.stop_in_place();
        }
    }
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn signal(pid: u32, sig: &str) {
    // `kill(1)` rather than libc: the crate forbids unsafe code, tests included.
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops `child` and its descendants: SIGTERM to the child, up to `grace` for it to exit,
/// then SIGKILL. Descendants (python stubs) still alive a moment after the child has gone
/// are SIGKILLed by pid. Returns the child's exit status and whether SIGKILL was needed.
fn kill_tree(child: &mut Child, grace: Duration) -> (Option<ExitStatus>, bool) {
    let pid = child.id();
    // Collect before signalling: once the server dies its stubs are re-parented and can no
    // longer be found through it.
    let mut family: BTreeSet<u32> = descendants(pid).into_iter().collect();
    let mut killed = false;
    let mut status = None;
    if !grace.is_zero() {
        signal(pid, "-TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            family.extend(descendants(pid));
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if status.is_none() {
        family.extend(descendants(pid));
        killed = true;
        let _ = child.kill();
        status = child.wait().ok();
    }
    // Stubs normally exit with the server; give them a moment, then make sure.
    let deadline = Instant::now() + Duration::from_secs(5);
    while family.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in family.iter().filter(|p| alive(**p)) {
        signal(*p, "-KILL");
    }
    (status, killed)
}

fn alive(pid: u32) -> bool {
    // A zombie has finished; only its parent's wait is missing.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_fields(&stat).is_some_and(|(state, _)| state != "Z"),
        Err(_) => false,
    }
}

/// `(state, ppid)` from a `/proc/<pid>/stat` line. The command name is in parentheses
/// and may itself contain spaces or parentheses, so fields are counted after the last `)`.
pub fn stat_fields(stat: &str) -> Option<(&str, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// All live descendants of `pid`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat"))
                && let Some((_, ppid)) = stat_fields(&stat)
            {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parent_of {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// Listening TCP sockets owned by `pid`: socket inodes from `/proc/<pid>/fd` matched
/// against `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn listening_sockets(pid: u32) -> io::Result<Vec<SocketAddr>> {
    let mut inodes = HashSet::new();
    for e in fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        if let Ok(target) = fs::read_link(e.path())
            && let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
        {
            inodes.insert(inode.to_string());
        }
    }
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = fs::read_to_string(table)?;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" || !inodes.contains(f[9]) {
                continue;
            }
            if let Some(addr) = parse_proc_addr(f[1]) {
                out.push(addr);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `0100007F:1F40` (IPv4) or 32 hex digits + port (IPv6), each 32-bit word in host
/// (little-endian) byte order.
pub fn parse_proc_addr(s: &str) -> Option<SocketAddr> {
    let (ip_hex, port_hex) = s.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(ip_hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_le_bytes())
    };
    let ip = match ip_hex.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes)).to_canonical()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Sample names and label sets of every metric line that carries `model="<name>"`.
pub fn metric_lines_for_model<'a>(metrics: &'a str, model: &str) -> Vec<&'a str> {
    let needle = format!("model=\"{model}\"");
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(&needle))
        .collect()
}
