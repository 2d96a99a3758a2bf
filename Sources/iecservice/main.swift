import Glibc
import IECCLI
import IECServiceApp

exit(ServiceCommand.run(Array(CommandLine.arguments.dropFirst()), console: TerminalConsole()))
