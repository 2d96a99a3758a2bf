internal import IECCLI
internal import IECConfig
internal import IECCrypto
internal import IECGateway
internal import IECGatewayStore
internal import IECJSON
internal import JOSE
internal import Glibc

/// `iecutil -file X.json -initialise service|sdk [-output PATH]`, as the original:
/// the config file becomes the gateway's (or the app's) database, mode 0600.
enum InitialiseCommand {
    static let usage = """
        Usage:
          iecutil -file iec-config.json -initialise service [-output iec-service.db] [-key-file F] [-force]
              Checks the gateway's configuration (every key of the original, each wrong
              one named with its full path) and writes the gateway database with it
              (SQLite, mode 0600), a 0600 key file that seals node keys at rest
              (default: the database's name with .key), and the gateway's P-256 key.
          iecutil -file sdk-config.json -initialise sdk [-output iec-sdk.db] [-force]
              Checks an app's SDK configuration and writes iec-sdk.db (mode 0600), which
              the SDK finds in the working directory.
          An existing database is left as it is unless -force is given. Double-dash
          spellings (--file, --initialise, --output) work too.

        """

    static func isInvocation(_ arguments: [String]) -> Bool {
        arguments.contains { ["-file", "--file", "-initialise", "--initialise", "-initialize", "--initialize"].contains($0) }
    }

    static func run(_ arguments: [String], console: any Console) throws {
        let normalised = arguments.map { $0 == "-initialize" || $0 == "--initialize" ? "--initialise" : $0 }
        let options = try ParsedArguments(normalised, valued: ["file", "initialise", "output", "key-file"], flags: ["force"])
        if options.wantsHelp { return console.write(usage) }
        guard options.positionals.isEmpty else { throw UsageError("unexpected argument \(options.positionals[0])") }
        let file = try options.required("file")
        let kind = try options.required("initialise")
        func say(_ line: String) { console.write("iec util: \(line)\n") }
        switch kind {
        case "service":
            let output = try options.value("output") ?? "iec-service.db"
            let keyFile = try options.value("key-file") ?? ((output.hasSuffix(".db") ? String(output.dropLast(3)) : output) + ".key")
            let configuration = try parseOrFail { try GatewayConfiguration.parse(try Files.read(file), source: file) }
            say("Initialising service")
            try requireFolder(of: output)
            try requireFolder(of: keyFile)
            if access(output, F_OK) == 0, !options.has("force") {
                say("\(output) exists; left unchanged (use -force to initialise it again)")
                return
            }
            let database = try GatewayDatabase.create(path: output, keyFile: keyFile, configuration: configuration.json, replace: options.has("force"))
            if try database.privateKey(for: configuration.subject) == nil {
                try database.storeKey(try P256.PrivateKey(), for: configuration.subject)
            }
            let serverKey = try CurveKeyPair(secretKeyZ85: configuration.secretKey).publicKeyZ85
            if let written = configuration.publicKey, written != serverKey {
                say("note: zmq_server.public_key does not match secret_key; SDK apps need server_public_key \(serverKey)")
            }
            say("gateway \(configuration.subject): database \(output), key file \(keyFile) (both mode 0600)")
            say("Finished service initialisation")
        case "sdk":
            let output = try options.value("output") ?? "iec-sdk.db"
            let configuration = try parseOrFail { try SDKConfiguration.parse(try Files.read(file), source: file) }
            let derived = try CurveKeyPair(secretKeyZ85: configuration.secretKey).publicKeyZ85
            guard derived == configuration.publicKey else {
                throw CommandFailure("\(file): zmq_client.public_key does not belong to zmq_client.secret_key (it should be \(derived))")
            }
            say("Initialising sdk")
            try requireFolder(of: output)
            if access(output, F_OK) == 0, !options.has("force") {
                say("\(output) exists; left unchanged (remove it, or use -force, to initialise again)")
                return
            }
            _ = try GatewayDatabase.create(path: output, keyFile: nil, configuration: configuration.json, replace: options.has("force"))
            say("Finished sdk initialisation")
        default:
            throw UsageError("-initialise takes service or sdk, not \"\(kind.prefix(20))\"")
        }
    }

    /// The folder an output file goes into must exist: say so plainly rather than fail on create.
    private static func requireFolder(of path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let folder = String(path[..<slash])
        var status = stat()
        guard folder.isEmpty || (stat(folder, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR) else {
            throw CommandFailure("the folder \(folder) does not exist (for -output \(path))")
        }
    }

    private static func parseOrFail<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ConfigError {
            throw CommandFailure(error.description)
        }
    }
}
