/// The release of LeadRouter: what `leadrouterd --version` and `leadctl --version` print, and
/// the Debian package's `Version` (`scripts/package` reads it from the built `leadrouterd`,
/// so the two cannot differ). Raise it for every release that is packaged; the format is a
/// Debian upstream version (digits and dots, optionally `~rc1` and the like).
public enum LeadRouterVersion {
    public static let current = "0.2.0"
}
