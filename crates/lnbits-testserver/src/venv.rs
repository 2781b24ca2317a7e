//! The Python virtual environment with LNbits installed, cached between runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The LNbits release the tests run against.
pub const LNBITS_VERSION: &str = "1.6.2";

/// Exact versions of LNbits' dependencies known to work with [`LNBITS_VERSION`]: the newest
/// transitive versions break its startup.
const CONSTRAINTS: &str = include_str!("../constraints-1.6.2.txt");

/// A virtual environment with LNbits installed.
#[derive(Clone, Debug)]
pub struct Venv {
    /// Its folder.
    pub path: PathBuf,
}

impl Venv {
    /// The venv's Python.
    pub fn python(&self) -> PathBuf {
        self.path.join("bin").join("python")
    }

    /// The folder holding the installed `lnbits` package, which LNbits must run from (it finds
    /// its static files relative to the working directory).
    pub fn site_packages(&self) -> Result<PathBuf, String> {
        let output = Command::new(self.python())
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ])
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.python().display()))?;
        let site = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if site.join("lnbits").join("static").is_dir() {
            Ok(site)
        } else {
            Err(format!("lnbits is not installed in {}", site.display()))
        }
    }

    /// Installs LNbits into `path` with `python`, unless an install of the same version and
    /// constraints is there already.
    pub fn ensure(path: &Path, python: &str) -> Result<Self, String> {
        let venv = Self {
            path: path.to_path_buf(),
        };
        let marker = path.join(".installed");
        let wanted = format!("lnbits=={LNBITS_VERSION}\n{CONSTRAINTS}");
        if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted)
            && venv.site_packages().is_ok()
        {
            return Ok(venv);
        }
        let started = Instant::now();
        eprintln!(
            "lnbits-testserver: installing LNbits {LNBITS_VERSION} from PyPI into {} (first run only, about a minute)",
            path.display()
        );
        if path.exists() {
            std::fs::remove_dir_all(path)
                .map_err(|err| format!("cannot clear {}: {err}", path.display()))?;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        run(
            Command::new(python).args(["-m", "venv"]).arg(path),
            &format!(
                "'{python} -m venv' failed (on Debian's own Python: apt-get install python3-venv)"
            ),
        )?;
        let pip = path.join("bin").join("pip");
        // A current pip resolves this set in half the time of Python 3.11's bundled one.
        let _ = run(
            Command::new(&pip).args(["install", "--disable-pip-version-check", "-q", "pip==26.3"]),
            "upgrading pip",
        );
        let constraints = path.join("constraints.txt");
        std::fs::write(&constraints, CONSTRAINTS)
            .map_err(|err| format!("cannot write {}: {err}", constraints.display()))?;
        run(
            Command::new(&pip)
                .args(["install", "--disable-pip-version-check", "-q"])
                .arg(format!("lnbits=={LNBITS_VERSION}"))
                .arg("-c")
                .arg(&constraints),
            &format!("pip install lnbits=={LNBITS_VERSION} failed"),
        )?;
        venv.site_packages()?;
        std::fs::write(&marker, wanted)
            .map_err(|err| format!("cannot write {}: {err}", marker.display()))?;
        eprintln!(
            "lnbits-testserver: installed in {:.0} s",
            started.elapsed().as_secs_f32()
        );
        Ok(venv)
    }
}

fn run(command: &mut Command, failure: &str) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|err| format!("{failure}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{failure} ({status})"))
    }
}
