/// What a subcommand accepts: its positional arguments, flags and valued options.
struct ArgumentSpec {
    /// Names of required positionals, in order, as shown in usage (`PATH`, `DEVICE`, …).
    var positionals: [String] = []
    /// Names of optional positionals that may follow the required ones.
    var optionalPositionals: [String] = []
    /// Options without a value, such as `--strict`.
    var flags: Set<String> = []
    /// Options with a value, such as `--older-than`.
    var options: Set<String> = []
}

/// The parsed command line of one subcommand.
struct ParsedArguments {
    var positionals: [String] = []
    var flags: Set<String> = []
    var options: [String: String] = [:]

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    subscript(option: String) -> String? { options[option] }
}

enum ArgumentParser {
    /// Parses `arguments` (everything after the subcommand name) against `spec`.
    ///
    /// Accepts `--name value` and `--name=value`; `--` ends options; a lone `-` is a
    /// positional (standard input). `-h`/`--help` must be handled before calling this.
    static func parse(_ arguments: [String], spec: ArgumentSpec) throws(CommandFailure) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if spec.flags.contains(name) {
                guard inlineValue == nil else { throw .usage("\(name) takes no value") }
                guard !parsed.flags.contains(name) else { throw .usage("\(name) is given twice") }
                parsed.flags.insert(name)
            } else if spec.options.contains(name) {
                guard parsed.options[name] == nil else { throw .usage("\(name) is given twice") }
                if let inlineValue {
                    parsed.options[name] = inlineValue
                } else {
                    guard index < arguments.count else { throw .usage("\(name) needs a value") }
                    parsed.options[name] = arguments[index]
                    index += 1
                }
            } else {
                throw .usage("unknown option \(displayOption(name))")
            }
        }
        let required = spec.positionals.count
        let maximum = required + spec.optionalPositionals.count
        if parsed.positionals.count < required {
            let missing = spec.positionals[parsed.positionals.count...].joined(separator: " ")
            throw .usage("missing \(missing)")
        }
        if parsed.positionals.count > maximum {
            throw .usage("too many arguments (expected at most \(maximum))")
        }
        return parsed
    }

    /// An option name safe to echo: unusual text is not repeated back.
    private static func displayOption(_ name: String) -> String {
        let allowed = name.utf8.count <= 40
            && name.unicodeScalars.allSatisfy { $0 == "-" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
        return allowed ? name : "(an unrecognised option)"
    }
}

/// Whether the arguments ask for help.
func wantsHelp(_ arguments: [String]) -> Bool {
    for argument in arguments {
        if argument == "--" { return false }
        if argument == "-h" || argument == "--help" { return true }
    }
    return false
}
