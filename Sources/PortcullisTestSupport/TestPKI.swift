import Foundation
import NIOConcurrencyHelpers
import NIOSSL

/// A throwaway certificate authority for TLS tests, made with the `openssl` command line in a
/// fresh temporary folder (EC P-256 keys, valid for two days). Call `remove()` when done.
public struct TestPKI: Sendable {
    /// A certificate and its key, as PEM files.
    public struct Issued: Sendable {
        public var certificatePath: String
        public var keyPath: String
        public var serial: Int

        /// The certificate as NIOSSL reads it (to compare with what a peer presented).
        public func certificate() throws -> NIOSSLCertificate {
            guard let leaf = try NIOSSLCertificate.fromPEMFile(certificatePath).first else {
                throw NIOSSLError.failedToLoadCertificate
            }
            return leaf
        }
    }

    public let directory: String
    /// The CA certificate: the file to name in `ca_file`, and what test clients trust.
    public let caCertificatePath: String
    private let caKeyPath: String

    /// Creates the CA.
    public init(commonName: String = "Portcullis Test CA") throws {
        directory = try CPluginCompiler.temporaryDirectory("portcullis-pki")
        caCertificatePath = directory + "/ca.pem"
        caKeyPath = directory + "/ca.key"
        try CPluginCompiler.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256",
                "-days", "2", "-subj", "/CN=\(commonName)", "-keyout", caKeyPath, "-out", caCertificatePath,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )
    }

    /// A server certificate signed by this CA, written as `name.pem` and `name.key`.
    /// `subjectAltNames` in openssl's syntax, e.g. `DNS:localhost,IP:127.0.0.1`.
    public func issue(
        _ name: String, commonName: String = "localhost", subjectAltNames: String = "DNS:localhost,IP:127.0.0.1",
        serial: Int
    ) throws -> Issued {
        let issued = Issued(certificatePath: "\(directory)/\(name).pem", keyPath: "\(directory)/\(name).key", serial: serial)
        let request = "\(directory)/\(name).csr"
        let extensions = "\(directory)/\(name).ext"
        try """
        subjectAltName=\(subjectAltNames)
        basicConstraints=critical,CA:FALSE
        keyUsage=critical,digitalSignature
        extendedKeyUsage=serverAuth

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try CPluginCompiler.run(
            "openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                "/CN=\(commonName)", "-keyout", issued.keyPath, "-out", request,
            ]
        )
        try CPluginCompiler.run(
            "openssl",
            [
                "x509", "-req", "-sha256", "-days", "2", "-in", request, "-CA", caCertificatePath, "-CAkey", caKeyPath,
                "-set_serial", String(serial), "-extfile", extensions, "-out", issued.certificatePath,
            ]
        )
        return issued
    }

    /// A server context presenting `issued` (for `UpstreamStub`); every SNI name a client sends
    /// (`nil` for none) is appended to `serverNames` when given.
    public func serverContext(_ issued: Issued, serverNames: NIOLockedValueBox<[String?]>? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(issued.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: issued.keyPath, format: .pem))
        )
        if let serverNames {
            configuration.sslContextCallback = { values, promise in
                serverNames.withLockedValue { $0.append(values.serverHostname) }
                promise.succeed(.noChanges)
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// A client context that trusts this CA only, with full verification.
    public func clientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(caCertificatePath)
        configuration.certificateVerification = .fullVerification
        return try NIOSSLContext(configuration: configuration)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
