import Glibc
import IECClient
import IECJSON

/// Each example: its arguments in, an exit code out.
enum Examples {
    static let all: [String: @Sendable ([String]) async -> Int32] = [
        "simpleclient": { _ in await simpleclient() },
        "init-static": { _ in await initStatic() },
        "init-dynamic": { _ in await initDynamic() },
        "register-device": { await registerDevice($0.first ?? "Narwhal") },
        "device-configuration": { await deviceConfiguration($0.first ?? "Narwhal") },
        "device-tokens": { await deviceTokens($0.first ?? "Narwhal") },
        "user-tokens": { await userTokens($0.first ?? "Narwhal") },
        "custom-command": { args in
            await customCommand(args.first ?? "Narwhal", command: args.count > 1 ? args[1] : "HELLO_WORLD", params: args.count > 2 ? args[2] : "{}")
        },
        "introspect": { await introspect($0.first ?? "Narwhal") },
    ]

    /// Prints without a newline and flushes, so a step shows while it runs.
    static func step(_ text: String) {
        print(text, terminator: "")
        fflush(nil)  // all streams: stdout itself is not concurrency-safe to name
    }

    static func failed(_ what: String, _ error: IECClientError) -> Int32 {
        print("\(what) failed: \(error)")
        return 1
    }

    /// The same steps and lines as examples/simpleclient/simpleclient.c.
    static func simpleclient() async -> Int32 {
        let device = "Narwhal"
        print("*** Running simpleclient")
        step("Setting attributes ... ")
        var attributes = IECClientAttributes()
        do throws(IECClientError) {
            try attributes.set(.loggingEnabled, text: "true")
            try attributes.set(.loggingDebug, text: "true")
            try attributes.set(.loggingLogfile, text: "simpleclient.log")
        } catch {
            return failed("Setting attributes", error)
        }
        print("Done")
        step("Initialising sdk... ")
        let client: IECClient
        do throws(IECClientError) { client = try await IECClient.initialise(attributes: attributes) } catch { return failed("Initialisation", error) }
        print("Done")
        step("Registering device (id: \(device))... ")
        do throws(IECClientError) { try await client.registerDevice(device) } catch { return failed("Registration", error) }
        print("Done")
        step("Requesting configuration for device (id: \(device))... ")
        let configuration: JSONValue
        do throws(IECClientError) { configuration = try await client.deviceConfiguration(device) } catch { return failed("Configuration request", error) }
        print("Done")
        print("Received configuration: \(OriginalLayout.text(configuration))")
        step("Requesting tokens for device (id: \(device))... ")
        let tokens: Tokens
        do throws(IECClientError) { tokens = try await client.deviceTokens(device) } catch { return failed("Token request", error) }
        print("Done")
        print("Received tokens: \(OriginalLayout.text(tokens.json, order: Tokens.memberOrder))")
        step("Executing 'Hello World' custom command... ")
        do throws(IECClientError) {
            let response = try await client.customCommand(device, command: "HELLO_WORLD", params: "{}")
            print("Done")
            print("Received response: \(OriginalLayout.text(response))")
        } catch {
            _ = failed("Custom command request", error)
        }
        return 0
    }

    static func initStatic() async -> Int32 {
        print("*** Running init-static")
        step("Initialising sdk (settings from iec-sdk.db)... ")
        do throws(IECClientError) {
            _ = try await IECClient.initialise()
        } catch {
            return failed("Initialisation", error)
        }
        print("Done")
        return 0
    }

    /// Attributes from the environment, as examples/init_sdk_dynamic does.
    static func initDynamic() async -> Int32 {
        print("*** Running init-dynamic")
        step("Setting attributes ... ")
        var attributes = IECClientAttributes()
        let settings: [(IECClientAttribute, Bool)] = [
            (.endpoint, true), (.secretKey, true), (.publicKey, true), (.serverPublicKey, true), (.clientID, true), (.messageTimeoutSeconds, false),
        ]
        for (attribute, required) in settings {
            guard let value = getenv(attribute.description).map({ String(cString: $0) }) else {
                if !required { continue }
                print("failed: set \(attribute) in the environment")
                return 2
            }
            do throws(IECClientError) { try attributes.set(attribute, text: value) } catch { return failed("Setting \(attribute)", error) }
        }
        print("Done")
        step("Initialising sdk (settings from attributes)... ")
        do throws(IECClientError) {
            _ = try await IECClient.initialise(attributes: attributes)
        } catch {
            return failed("Initialisation", error)
        }
        print("Done")
        return 0
    }

    /// Initialises, then registers `device` (without data unless given).
    static func start(_ name: String, _ device: String, registrationData: String? = nil) async -> Result<IECClient, ExampleFailure> {
        print("*** Running \(name)")
        step("Initialising sdk... ")
        let client: IECClient
        do throws(IECClientError) { client = try await IECClient.initialise() } catch { return .failure(ExampleFailure(failed("Initialisation", error))) }
        print("Done")
        if let registrationData {
            step("Registering device (id: \(device)) with registration data \(registrationData)... ")
        } else {
            step("Registering device (id: \(device))... ")
        }
        do throws(IECClientError) {
            try await client.registerDevice(device, registrationData: registrationData)
        } catch {
            return .failure(ExampleFailure(failed("Registration", error)))
        }
        print("Done")
        return .success(client)
    }

    struct ExampleFailure: Error { let code: Int32; init(_ code: Int32) { self.code = code } }

    static func registerDevice(_ device: String) async -> Int32 {
        switch await start("register-device", device, registrationData: #"{"custom_data":"here"}"#) {
        case .success: return 0
        case .failure(let failure): return failure.code
        }
    }

    static func deviceConfiguration(_ device: String) async -> Int32 {
        let client: IECClient
        switch await start("device-configuration", device) {
        case .success(let made): client = made
        case .failure(let failure): return failure.code
        }
        step("Requesting configuration for device (id: \(device))... ")
        do throws(IECClientError) {
            let configuration = try await client.deviceConfiguration(device)
            print("Done")
            print("Received configuration: \(OriginalLayout.text(configuration))")
            if let minimum = configuration["minimum"]?.int64Value {
                print("Configuration value minimum: \(minimum)")
            } else {
                print("The configuration has no integer 'minimum'")
            }
            return 0
        } catch {
            return failed("Configuration request", error)
        }
    }

    static func deviceTokens(_ device: String) async -> Int32 {
        let client: IECClient
        switch await start("device-tokens", device) {
        case .success(let made): client = made
        case .failure(let failure): return failure.code
        }
        step("Requesting tokens for device (id: \(device))... ")
        do throws(IECClientError) {
            let tokens = try await client.deviceTokens(device)
            print("Done")
            print("Received tokens: \(OriginalLayout.text(tokens.json, order: Tokens.memberOrder))")
            print("Token type: \(tokens.tokenType), expires in: \(tokens.expiresIn) seconds")
            return 0
        } catch {
            return failed("Token request", error)
        }
    }

    static func userTokens(_ device: String) async -> Int32 {
        let client: IECClient
        switch await start("user-tokens", device) {
        case .success(let made): client = made
        case .failure(let failure): return failure.code
        }
        step("Requesting user code for device (id: \(device))... ")
        let code: UserCode
        do throws(IECClientError) { code = try await client.userCode(device) } catch { return failed("User code request", error) }
        print("Done")
        print("To pair the device, open \(code.verificationURL) and enter the code \(code.userCode)")
        step("Waiting for the user to approve... ")
        do throws(IECClientError) {
            let tokens = try await client.userTokens(device, code: code)
            print("Done")
            print("Received user tokens: \(OriginalLayout.text(tokens.json, order: Tokens.memberOrder))")
            return 0
        } catch {
            return failed("User token request", error)
        }
    }

    static func customCommand(_ device: String, command: String, params: String) async -> Int32 {
        let client: IECClient
        switch await start("custom-command", device) {
        case .success(let made): client = made
        case .failure(let failure): return failure.code
        }
        step("Executing custom command \(command) with params \(params)... ")
        do throws(IECClientError) {
            let response = try await client.customCommand(device, command: command, params: params)
            print("Done")
            print("Received response: \(OriginalLayout.text(response))")
            return 0
        } catch {
            return failed("Custom command request", error)
        }
    }

    static func introspect(_ device: String) async -> Int32 {
        let client: IECClient
        switch await start("introspect", device) {
        case .success(let made): client = made
        case .failure(let failure): return failure.code
        }
        step("Requesting tokens for device (id: \(device))... ")
        let tokens: Tokens
        do throws(IECClientError) { tokens = try await client.deviceTokens(device) } catch { return failed("Token request", error) }
        print("Done")
        step("Introspecting the access token... ")
        do throws(IECClientError) {
            let introspection = try await client.introspect(tokens.accessToken)
            print("Done")
            print("Received introspection: \(OriginalLayout.text(introspection, order: ["active"]))")
            print("Token active: \(introspection["active"]?.boolValue == true)")
            return 0
        } catch {
            return failed("Introspection", error)
        }
    }
}
