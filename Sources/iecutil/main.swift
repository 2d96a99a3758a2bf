import Glibc
import IECUtilCommands

exit(IECUtil.run(Array(CommandLine.arguments.dropFirst()), console: TerminalConsole()))
