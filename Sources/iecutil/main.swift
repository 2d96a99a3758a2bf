import Glibc
import IECCLI
import IECUtilCommands

exit(IECUtil.run(Array(CommandLine.arguments.dropFirst()), console: TerminalConsole()))
