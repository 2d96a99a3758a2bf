internal import IECCLI
internal import IECJSON

/// The command line of `iec-bench`: `gateway ...` or `store ...`, options as `--name value`.
enum BenchCommand {
    static let usage = """
        iec-bench — OpenIEC's load driver (bench/README.md)

          iec-bench gateway --endpoint tcp://127.0.0.1:PORT --server-key Z85 --secret-key Z85 --public-key Z85
                    --client-id ID --op register|tokens|ping --clients N [--first I] [--count C]
                    [--duration S] [--prefix P] [--random]
              N concurrent SDK clients (one IECClient, i.e. one ZeroMQ connection, and one
              thread each). register: registers devices PREFIX-I .. PREFIX-(I+C-1), each once.
              tokens: device tokens for those devices, each once (the first time: not cached);
              with --random, devices picked at random from the range until the duration ends
              (cached). Stops at the duration or when the range is used up.
          iec-bench store --folder DIR --sizes 1000,1000000 [--lookups N] [--registrations N]
              Fills a fresh SQLite store per size (bulk, 10,000 per transaction), then times
              N lookups of random identities and N registrations (one durable write each).

        Prints one JSON line. Exit codes: 0, 1 failure, 2 usage error.

        """

    static func run(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first, command != "--help", command != "-h" else {
            print(usage, terminator: "")
            return arguments.isEmpty ? 2 : 0
        }
        var options: [String: String] = [:]
        var flags: Set<String> = []
        var index = 1
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--") else {
                warn("iec-bench: unexpected argument \(name)\n")
                return 2
            }
            let key = String(name.dropFirst(2))
            if key == "random" {
                flags.insert(key)
                index += 1
                continue
            }
            guard index + 1 < arguments.count else {
                warn("iec-bench: \(name) needs a value\n")
                return 2
            }
            options[key] = arguments[index + 1]
            index += 2
        }
        do {
            let result: JSONValue
            switch command {
            case "gateway": result = try GatewayLoad(options: options, random: flags.contains("random")).run()
            case "store": result = try StoreScale(options: options).run()
            default:
                warn("iec-bench: unknown command \(command)\n\(usage)")
                return 2
            }
            print(result.serialized())
            return 0
        } catch let error as BenchUsageError {
            warn("iec-bench: \(error.message)\n")
            return 2
        } catch {
            warn("iec-bench: \(error)\n")
            return 1
        }
    }
}

struct BenchUsageError: Error {
    let message: String
}

func required(_ options: [String: String], _ name: String) throws -> String {
    guard let value = options[name] else { throw BenchUsageError(message: "--\(name) is required") }
    return value
}

func integer(_ options: [String: String], _ name: String, default value: Int) throws -> Int {
    guard let text = options[name] else { return value }
    guard let number = Int(text), number >= 0 else { throw BenchUsageError(message: "--\(name) must be a whole number") }
    return number
}

/// Text on standard error (IECCLI's console: whole writes, EINTR retried).
func warn(_ text: String) { TerminalConsole().writeError(text) }
