// The C API of libiecclient.so: the functions of include/libiecclient.h
// (version 1.0.0), exported with @_cdecl. Only C types cross: int, char*,
// char**, int*, _Bool*. Conventions (who frees what, threads, errors) are
// documented in the header; this file keeps to them.
internal import Glibc
internal import IECClient
internal import IECJSON

@_cdecl("iec_set_attribute")
public func iec_set_attribute(_ attribute: Int32, _ value: UnsafeMutablePointer<CChar>?) -> Int32 {
    entry { () throws(IECClientError) in
        guard let which = IECClientAttribute(rawValue: attribute) else {
            throw IECClientError(.invalidArgument, "unknown attribute \(attribute) (libiectypes.h lists IEC_ENDPOINT (0) to IEC_LOGGING_COMPRESSBACKUPS (12))")
        }
        try sdk.setAttribute(which, try argument(value, "the value of \(which)"))
    }
}

@_cdecl("iec_initialise")
public func iec_initialise() -> Int32 {
    entry { () throws(IECClientError) in try sdk.initialise() }
}

@_cdecl("iec_last_error")
public func iec_last_error() -> UnsafeMutablePointer<CChar>? {
    lastError.copy()
}

@_cdecl("iec_device_register")
public func iec_device_register(_ id: UnsafeMutablePointer<CChar>?, _ registrationData: UnsafeMutablePointer<CChar>?) -> Int32 {
    entry { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        try sdk.current().blocking.registerDevice(device, registrationData: optionalArgument(registrationData))
    }
}

@_cdecl("iec_device_configuration")
public func iec_device_configuration(_ id: UnsafeMutablePointer<CChar>?, _ config: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(config) { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        return OriginalLayout.text(try sdk.current().blocking.deviceConfiguration(device))
    }
}

@_cdecl("iec_device_tokens")
public func iec_device_tokens(_ id: UnsafeMutablePointer<CChar>?, _ tokens: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(tokens) { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        return OriginalLayout.text(try sdk.current().blocking.deviceTokens(device).json, order: Tokens.memberOrder)
    }
}

@_cdecl("iec_user_code")
public func iec_user_code(_ id: UnsafeMutablePointer<CChar>?, _ code: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(code) { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        let order = ["user_code", "verification_url", "verification_uri", "verification_uri_complete", "device_code", "expires_in", "interval"]
        return OriginalLayout.text(try sdk.current().blocking.userCode(device).json, order: order)
    }
}

@_cdecl("iec_user_tokens")
public func iec_user_tokens(_ id: UnsafeMutablePointer<CChar>?, _ tokens: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(tokens) { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        return OriginalLayout.text(try sdk.current().blocking.userTokens(device).json, order: Tokens.memberOrder)
    }
}

@_cdecl("iec_device_custom_command")
public func iec_device_custom_command(
    _ id: UnsafeMutablePointer<CChar>?, _ command: UnsafeMutablePointer<CChar>?, _ params: UnsafeMutablePointer<CChar>?,
    _ response: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    output(response) { () throws(IECClientError) in
        let device = try argument(id, "the device id")
        let name = try argument(command, "the command")
        return OriginalLayout.text(try sdk.current().blocking.customCommand(device, command: name, params: optionalArgument(params)))
    }
}

@_cdecl("iec_token_introspect")
public func iec_token_introspect(_ token: UnsafeMutablePointer<CChar>?, _ introspection: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(introspection) { () throws(IECClientError) in
        let text = try argument(token, "the token")
        return OriginalLayout.text(try sdk.current().blocking.introspect(text), order: ["active"])
    }
}

@_cdecl("iec_json_parse")
public func iec_json_parse(_ json: UnsafeMutablePointer<CChar>?) -> Int32 {
    entry { () throws(IECClientError) in
        let text = try argument(json, "the JSON text")
        do {
            sdk.setParsed(try JSONValue.parse(text, limits: .init(maxBytes: 16 << 20, maxDepth: 64)))
        } catch {
            throw IECClientError(.invalidArgument, "not JSON: \(error)")
        }
    }
}

@_cdecl("iec_json_get_string")
public func iec_json_get_string(_ key: UnsafeMutablePointer<CChar>?, _ value: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    output(value) { () throws(IECClientError) in
        let member = try sdk.member(try argument(key, "the key"))
        return member.stringValue ?? member.serialized()
    }
}

@_cdecl("iec_json_get_int")
public func iec_json_get_int(_ key: UnsafeMutablePointer<CChar>?, _ value: UnsafeMutablePointer<Int32>?) -> Int32 {
    entry { () throws(IECClientError) in
        let name = try argument(key, "the key")
        guard let value else { throw IECClientError(.invalidArgument, "the output pointer is NULL") }
        let member = try sdk.member(name)
        var number = member.int64Value
        if number == nil, let text = member.stringValue, let parsed = IECClientAttributes.parseInteger(text) { number = Int64(parsed) }
        guard let number else { throw IECClientError(.invalidArgument, "\"\(name.prefix(80))\" is not an integer but \(member.typeName)") }
        guard let small = Int32(exactly: number) else { throw IECClientError(.invalidArgument, "\"\(name.prefix(80))\" (\(number)) does not fit in an int") }
        value.pointee = small
    }
}

@_cdecl("iec_json_get_bool")
public func iec_json_get_bool(_ key: UnsafeMutablePointer<CChar>?, _ value: UnsafeMutablePointer<Bool>?) -> Int32 {
    entry { () throws(IECClientError) in
        let name = try argument(key, "the key")
        guard let value else { throw IECClientError(.invalidArgument, "the output pointer is NULL") }
        let member = try sdk.member(name)
        guard let flag = member.boolValue else { throw IECClientError(.invalidArgument, "\"\(name.prefix(80))\" is not a bool but \(member.typeName)") }
        value.pointee = flag
    }
}
