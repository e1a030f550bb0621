# Sourced, not run: private_apt DIR SUITE COMPONENTS… points apt at a configuration of its own under DIR that reads
# only that Debian suite's components and downloads into DIR/archives, and fetches its package lists. Nothing is
# installed: the empty dpkg status makes apt treat this machine as bare, and the callers unpack with dpkg-deb.
# After it, apt-get and apt-cache in the same shell use that configuration (APT_CONFIG). DEBIAN_MIRROR names another
# Debian mirror.
private_apt() {
    local dir=$1 suite=$2
    shift 2
    mkdir -p "$dir"/{etc/apt/apt.conf.d,etc/apt/preferences.d,etc/apt/sources.list.d,lists/partial,archives/partial,dpkg}
    touch "$dir/dpkg/status"
    cat > "$dir/etc/apt/sources.list.d/$suite.sources" <<SOURCES
Types: deb
URIs: ${DEBIAN_MIRROR:-http://deb.debian.org/debian}
Suites: $suite
Components: $*
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    cat > "$dir/apt.conf" <<CONF
Dir "$dir/";
Dir::Etc "$dir/etc/apt/";
Dir::Etc::SourceList "/dev/null";
Dir::State "$dir/";
Dir::State::Lists "$dir/lists/";
Dir::State::status "$dir/dpkg/status";
Dir::Cache "$dir/";
Dir::Cache::Archives "$dir/archives/";
Dir::Etc::Trusted "/etc/apt/trusted.gpg";
Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d/";
APT::Architecture "amd64";
APT::Install-Recommends "false";
// The signatures are still checked; a mirror that serves a snapshot of unstable (whose Release files expire within a
// week) would otherwise be refused as stale.
Acquire::Check-Valid-Until "false";
CONF
    export APT_CONFIG="$dir/apt.conf"
    apt-get update -qq
}
