import ArgumentParser
import Portcullis

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a token, a jti or a subject through the configured blocklist plugin.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "A token to revoke (until its exp).")
    var token: String?

    @Option(help: "A jti to revoke (with --expires-at).")
    var jti: String?

    @Option(help: "Unix time until which the jti stays revoked.")
    var expiresAt: Int64?

    @Option(help: "A subject: every token of it issued until now is refused.")
    var sub: String?

    func validate() throws {
        let forms = [token != nil, jti != nil, sub != nil].filter { $0 }.count
        guard forms == 1 else { throw ValidationError("give exactly one of --token, --jti (with --expires-at) or --sub") }
        if jti != nil && expiresAt == nil { throw ValidationError("--jti needs --expires-at") }
    }

    func run() throws {
        _ = try options.loadRuntime()
        // Blocklist plugins arrive with the plugin host; until then nothing can store a revocation.
        printError("portcullis revoke: the blocklist plugin host is not part of this build yet; nothing was revoked")
        throw ExitCode(2)
    }
}
