public import IECCLI
/// `iecutil`: the install-time utility of the gateway and the SDK.
public enum IECUtil {
    static let usage = """
        iecutil — OpenIEC's install-time utility.

        Usage:
          iecutil keygen curve              print a new CURVE (ZeroMQ) key pair in Z85
          iecutil keygen p256 [options]     print a new P-256 key pair as PEM and JWK
          iecutil jwks PEMFILE...           print the JWK Set of one or more keys
          iecutil token decode [TOKEN]      print a JWT's header and claims, unverified
          iecutil token verify [TOKEN] ...  verify a JWT against a JWKS file or URL
          iecutil token sign ...            sign a JWT with a P-256 key or an HMAC secret
          iecutil -file iec-config.json -initialise service [-output iec-service.db]
          iecutil -file sdk-config.json -initialise sdk [-output iec-sdk.db]
                                            write the gateway's or an app's database

        Run `iecutil COMMAND --help` for a command's options.
        Exit codes: 0 success, 1 failure, 2 usage error.

        """

    /// Runs one command line (without the program name) and returns the exit code.
    public static func run(_ arguments: [String], console: any Console) -> Int32 {
        do {
            try dispatch(arguments, console: console)
            return 0
        } catch let error as UsageError {
            console.writeError("iecutil: \(error.message)\nRun `iecutil --help` for usage.\n")
            return 2
        } catch let error as CommandFailure {
            console.writeError("iecutil: \(error.message)\n")
            return 1
        } catch {
            console.writeError("iecutil: \(error)\n")
            return 1
        }
    }

    private static func dispatch(_ arguments: [String], console: any Console) throws {
        guard let command = arguments.first else {
            console.writeError(usage)
            throw UsageError("no command given")
        }
        if InitialiseCommand.isInvocation(arguments) { return try InitialiseCommand.run(arguments, console: console) }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "--help", "-h", "help":
            console.write(usage)
        case "keygen":
            try KeygenCommand.run(rest, console: console)
        case "jwks":
            try JWKSCommand.run(rest, console: console)
        case "token":
            try TokenCommand.run(rest, console: console)
        default:
            throw UsageError("unknown command \"\(command)\"")
        }
    }
}
