public import IECCLI
internal import Dispatch
internal import Glibc
internal import IECConfig
internal import IECGateway
internal import IECGatewayStore
internal import IECJSON
internal import IECLog
internal import IECLogFile

/// The `iecservice` command line: the gateway daemon.
public enum ServiceCommand {
    static let usage = """
        iecservice — OpenIEC's gateway daemon (the seed's IEC Service).

        Usage:
          iecservice [--database FILE] [--key-file FILE] [--config FILE] [--log-stderr]
              Registers the gateway with iec-am (retrying until it succeeds), keeps its
              session alive and serves SDK apps over ZeroMQ + CURVE until SIGTERM.
              --database FILE   the database `iecutil -initialise service` wrote
                                (default ./iec-service.db)
              --key-file FILE   the 0600 key file that seals node keys at rest
                                (default: the database's name with .key)
              --config FILE     read iec-config.json instead of the configuration in
                                the database (the database, created when missing,
                                still holds keys and nodes)
              --log-stderr      log to standard error, whatever logging.logfile says

        Exit codes: 0 after a clean shutdown, 1 failure, 2 usage error.

        """

    public static func run(_ arguments: [String], console: any Console) -> Int32 {
        do {
            let options = try ParsedArguments(arguments, valued: ["database", "key-file", "config"], flags: ["log-stderr"])
            if options.wantsHelp {
                console.write(usage)
                return 0
            }
            guard options.positionals.isEmpty else { throw UsageError("iecservice takes no positional arguments") }
            try serve(options, console: console)
            return 0
        } catch let error as UsageError {
            console.writeError("iecservice: \(error.message)\nRun `iecservice --help` for usage.\n")
            return 2
        } catch {
            console.writeError("iecservice: \(error)\n")
            return 1
        }
    }

    static func keyFile(forDatabase path: String) -> String {
        (path.hasSuffix(".db") ? String(path.dropLast(3)) : path) + ".key"
    }

    static func serve(_ options: ParsedArguments, console: any Console) throws {
        let databasePath = try options.value("database") ?? "iec-service.db"
        let keyPath = try options.value("key-file") ?? keyFile(forDatabase: databasePath)
        let configuration: GatewayConfiguration
        let database: GatewayDatabase
        if let configPath = try options.value("config") {
            configuration = try GatewayConfiguration.parse(try Files.read(configPath), source: configPath)
            if access(databasePath, F_OK) == 0 {
                database = try GatewayDatabase(path: databasePath, keyFile: keyPath)
            } else {
                database = try GatewayDatabase.create(path: databasePath, keyFile: keyPath, configuration: configuration.json, replace: false)
            }
        } else {
            database = try GatewayDatabase(path: databasePath, keyFile: keyPath)
            configuration = try GatewayConfiguration.parse(try database.configuration().serializedBytes(), source: databasePath)
        }
        try database.useWriteAheadLog()
        let logger = try makeLogger(configuration.logging, forceStderr: options.has("log-stderr"))
        let service = try GatewayService(configuration: configuration, keys: database, state: database, logger: logger)
        try service.start()
        waitForTermination()
        logger.notice("shutting down")
        service.shutdown()
        logger.notice("stopped")
    }

    static func makeLogger(_ logging: LoggingConfiguration, forceStderr: Bool) throws -> Logger {
        let level: LogLevel = logging.debug ? .debug : .info
        guard logging.enabled else { return Logger(label: "iecservice", minimumLevel: .warning, sink: StandardErrorSink()) }
        if !forceStderr, let path = logging.logfile {
            let sink = try RotatingFileSink(
                path: path, maxBytes: logging.maxFileSizeMB * 1024 * 1024, maxBackups: logging.maxBackupFiles,
                maxAgeDays: logging.maxFileAgeDays, compress: logging.compressFileBackups)
            return Logger(label: "iecservice", minimumLevel: level, sink: sink)
        }
        return Logger(label: "iecservice", minimumLevel: level, sink: StandardErrorSink())
    }
}
