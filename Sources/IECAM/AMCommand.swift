public import IECCLI
internal import Dispatch
internal import Glibc
internal import HTTPServer
internal import IECCrypto
internal import IECJSON
internal import IECLog
internal import JOSE
internal import Store
internal import StoreLDAP
internal import StoreSQLite

/// The `iec-am` command line: `serve` and `setup`.
public enum AMCommand {
    static let usage = """
        iec-am — OpenIEC's identity server (realms, OAuth2/OIDC, the IEC realm service).

        Usage:
          iec-am serve [--config FILE]
              Runs the server until SIGTERM or SIGINT (graceful shutdown). Without
              --config: 127.0.0.1:8080, data in ./data/iec-am.db.

          iec-am setup [--config FILE] [options]
              Makes, in one idempotent step, what the seed's section 1.1.4 does by
              hand: the administrator, realm `edge` with its OAuth2/OIDC provider,
              dynamic profile creation, the device-flow verification URL, and the IEC
              service settings with a fresh ES256 challenge signing key. Re-running
              keeps existing keys and secrets.
              --realm NAME                 the IoT realm (default edge)
              --admin-username NAME        default amadmin
              --admin-password-file FILE   the administrator's password (first line)
                                           (or set IEC_ADMIN_PASSWORD; or
              --generate-admin-password    make one and print it once)
              --id-token-issuer ISS        default edge-device
              --id-token-audience AUD      default am.iec.com
              --vendor-secret-file FILE    the ID token vendor secret (default: generated)
              --verification-url URL       where users enter device codes (default: this server's page)
              --iec-config-out FILE        write (mode 0600) the am_configuration and
                                           iec_configuration values a gateway's
                                           iec-config.json needs, vendor secret included

        Exit codes: 0 success, 1 failure, 2 usage error.

        """

    public static func run(_ arguments: [String], console: any Console) -> Int32 {
        do {
            guard let command = arguments.first else {
                console.writeError(usage)
                throw UsageError("no command given")
            }
            let rest = Array(arguments.dropFirst())
            switch command {
            case "--help", "-h", "help": console.write(usage)
            case "serve": try serve(rest, console: console)
            case "setup": try setup(rest, console: console)
            default: throw UsageError("unknown command \"\(command)\"")
            }
            return 0
        } catch let error as UsageError {
            console.writeError("iec-am: \(error.message)\nRun `iec-am --help` for usage.\n")
            return 2
        } catch {
            console.writeError("iec-am: \(error)\n")
            return 1
        }
    }

    static func loadConfiguration(_ path: String?) throws -> AMConfiguration {
        guard let path else {
            var config = AMConfiguration()
            config.sqlitePath = currentDirectory() + "/" + config.sqlitePath
            return config
        }
        let bytes = try Files.read(path)
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : currentDirectory()
        return try AMConfiguration.parse(bytes, source: path, baseDirectory: folder.hasPrefix("/") ? folder : currentDirectory() + "/" + folder)
    }

    static func openStore(_ config: AMConfiguration) throws -> any Store {
        if let ldap = config.ldap { return try openLDAPStore(ldap) }
        let folder = String(config.sqlitePath[..<(config.sqlitePath.lastIndex(of: "/") ?? config.sqlitePath.startIndex)])
        if !folder.isEmpty { mkdir(folder, 0o700) }
        do {
            return try SQLiteStore(path: config.sqlitePath)
        } catch {
            throw CommandFailure("cannot open the store \(config.sqlitePath): \(error)")
        }
    }

    /// The directory store; the bind password comes from the file when one is named.
    static func openLDAPStore(_ ldap: AMConfiguration.LDAP) throws -> LDAPStore {
        var password = ldap.bindPassword ?? ""
        if let file = ldap.bindPasswordFile { password = try firstLine(file) }
        do {
            return try LDAPStore(
                options: LDAPStoreOptions(
                    url: ldap.url, bindDN: ldap.bindDN, bindPassword: password, baseDN: ldap.baseDN, caFile: ldap.caFile, startTLS: ldap.startTLS,
                    poolSize: ldap.poolSize, timeout: ldap.timeoutSeconds))
        } catch {
            throw CommandFailure("cannot open the directory store \(ldap.url) (base \(ldap.baseDN)): \(error)")
        }
    }

    /// What the logs say the store is: a path or a URL and base DN, never a password.
    static func storeDescription(_ config: AMConfiguration) -> String {
        if let ldap = config.ldap { return "\(ldap.url) \(ldap.baseDN)" }
        return config.sqlitePath
    }

    static func serve(_ arguments: [String], console: any Console) throws {
        let options = try ParsedArguments(arguments, valued: ["config"])
        if options.wantsHelp { return console.write(usage) }
        guard options.positionals.isEmpty else { throw UsageError("serve takes no positional arguments") }
        let config = try loadConfiguration(try options.value("config"))
        let logger = Logger(label: "iec-am", minimumLevel: config.logLevel, sink: StandardErrorSink())
        let store = try openStore(config)
        let app = AMServer(configuration: config, store: store, logger: logger)
        var http = HTTPServerConfiguration()
        http.host = config.host
        http.port = config.port
        http.threads = config.threads
        http.maxConnections = config.maxConnections
        http.maxHeaderBytes = config.maxHeaderBytes
        http.maxBodyBytes = config.maxBodyBytes
        http.connectionTimeout = config.connectionTimeout
        http.trustedProxies = Set(config.trustedProxies)
        if let tls = config.tls {
            http.tls = HTTPServerConfiguration.TLS(certificatePEM: try Files.readText(tls.certificateFile), keyPEM: try Files.readText(tls.keyFile))
        }
        let server = HolderOfServer()
        let router = RouterProxy(holder: server)
        let httpServer = HTTPServer(configuration: http, responder: router, logger: config.accessLog ? logger.labelled("access") : .disabled)
        server.set(app.router(metrics: httpServer.metrics))
        do {
            try httpServer.start()
        } catch {
            throw CommandFailure("cannot start the HTTP server on \(config.host):\(config.port): \(error)")
        }
        logger.notice("iec-am serving", [("address", "\(config.host):\(httpServer.port)"), ("public_url", config.effectivePublicURL), ("store", storeDescription(config))])

        // Expired codes, sessions and single-use values are purged once a minute.
        let purge = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        purge.schedule(deadline: .now() + 60, repeating: 60)
        purge.setEventHandler {
            do {
                let removed = try store.purgeExpired(now: SystemClock().now)
                if removed > 0 { logger.debug("purged expired records", [("count", String(removed))]) }
            } catch {
                logger.warning("purging expired records failed", [("error", "\(error)")])
            }
        }
        purge.resume()

        waitForTermination()
        logger.notice("iec-am shutting down")
        purge.cancel()
        httpServer.shutdown()
        logger.notice("iec-am stopped")
    }

    static func setup(_ arguments: [String], console: any Console) throws {
        let options = try ParsedArguments(
            arguments,
            valued: ["config", "realm", "admin-username", "admin-password-file", "id-token-issuer", "id-token-audience",
                     "vendor-secret-file", "verification-url", "iec-config-out"],
            flags: ["generate-admin-password"])
        if options.wantsHelp { return console.write(usage) }
        guard options.positionals.isEmpty else { throw UsageError("setup takes no positional arguments") }
        let config = try loadConfiguration(try options.value("config"))
        let store = try openStore(config)
        var setupOptions = RealmSetup.Options()
        setupOptions.realm = try options.value("realm") ?? setupOptions.realm
        setupOptions.adminUsername = try options.value("admin-username") ?? setupOptions.adminUsername
        setupOptions.idTokenIssuer = try options.value("id-token-issuer")
        setupOptions.idTokenAudience = try options.value("id-token-audience")
        setupOptions.verificationURL = try options.value("verification-url")
        if let path = try options.value("vendor-secret-file") { setupOptions.vendorSecret = try firstLine(path) }

        var generatedPassword: String?
        if let path = try options.value("admin-password-file") {
            setupOptions.adminPassword = try firstLine(path)
        } else if let fromEnvironment = getenv("IEC_ADMIN_PASSWORD").map({ String(cString: $0) }), !fromEnvironment.isEmpty {
            setupOptions.adminPassword = fromEnvironment
        } else if options.has("generate-admin-password") {
            if try store.user(realm: "root", username: setupOptions.adminUsername) == nil {
                generatedPassword = Base64.urlEncode(SecureRandom.bytes(18))
                setupOptions.adminPassword = generatedPassword
            }
        } else if try store.user(realm: "root", username: setupOptions.adminUsername) == nil, isatty(STDIN_FILENO) == 1 {
            setupOptions.adminPassword = try promptPassword("Password for the new administrator \(setupOptions.adminUsername): ")
        }
        let outcome: RealmSetup.Outcome
        do {
            outcome = try RealmSetup(store: store).run(setupOptions)
        } catch let error as SetupError {
            throw CommandFailure(error.description)
        }

        func say(_ line: String) { console.write("iec-am setup: \(line)\n") }
        say(outcome.createdAdmin ? "created administrator \(setupOptions.adminUsername)" :
            outcome.updatedAdminPassword ? "updated the password of administrator \(setupOptions.adminUsername)" :
            "administrator \(setupOptions.adminUsername) exists")
        if let generatedPassword { say("administrator password (shown once, keep it): \(generatedPassword)") }
        say(outcome.createdRealm ? "created realm \(setupOptions.realm) (OAuth2/OIDC provider, dynamic profile creation, IEC service)" :
            "realm \(setupOptions.realm) exists; settings brought up to date")
        say(outcome.createdChallengeKey ? "generated a new ES256 challenge signing key" : "kept the existing challenge signing key")
        say("ID token issuer \(outcome.iec.idTokenIssuer), audience \(outcome.iec.idTokenAudience)")
        say("am_public_key: \(outcome.challengePublicKey)")
        if let path = try options.value("iec-config-out") {
            let snippet: JSONValue = [
                "am_configuration": [
                    "url": .string(config.effectivePublicURL), "realm": .string("/" + setupOptions.realm),
                    "registration_chain": "device_registration", "authentication_chain": "device_authentication",
                    "cookie_name": .string(config.cookieName), "am_public_key": .string(outcome.challengePublicKey),
                    "command_endpoint_version": "resource=1.0, protocol=2.1",
                ],
                "iec_configuration": [
                    "id_token_config.audience": .string(outcome.iec.idTokenAudience),
                    "id_token_config.issuer": .string(outcome.iec.idTokenIssuer),
                    "id_token_config.vendor_secret": .string(outcome.iec.vendorSecret),
                    "id_token_config.lifetime_seconds": 120,
                ],
            ]
            try Files.writeSecret(Array((snippet.serialized(pretty: true) + "\n").utf8), to: path, replace: true)
            say("wrote the gateway settings to \(path) (mode 0600: it holds the vendor secret)")
        }
    }

    static func firstLine(_ path: String) throws -> String {
        let text = try Files.readText(path)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !trimmed.isEmpty else { throw CommandFailure("\(path) is empty") }
        return trimmed
    }

    static func promptPassword(_ prompt: String) throws -> String {
        guard let pointer = getpass(prompt) else { throw CommandFailure("no password given") }
        return String(cString: pointer)
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The router is built after the HTTP server (it serves the server's metrics);
/// this indirection hands requests to it once it exists.
final class HolderOfServer: Sendable {
    private let router = LockedValue<Router?>(nil)
    func set(_ value: Router) { router.set(value) }
    func get() -> Router? { router.get() }
}

struct RouterProxy: HTTPResponder {
    let holder: HolderOfServer
    func respond(to request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard let router = holder.get() else { throw HTTPError(status: 503, message: "starting") }
        return try router.respond(to: request)
    }
}
