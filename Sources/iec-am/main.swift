import Glibc
import IECAM
import IECCLI

exit(AMCommand.run(Array(CommandLine.arguments.dropFirst()), console: TerminalConsole()))
