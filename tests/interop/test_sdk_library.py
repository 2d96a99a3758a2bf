"""libiecclient.so and its headers, as an app developer meets them: exactly the original's
functions, signatures and enum, a library that needs no Swift runtime, and headers that
compile cleanly as C and as C++. No gateway needed.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from sdk_support import ATTRIBUTES, ORIGINAL_FUNCTIONS, REPO, SDKBundle, find_library, gcc

#: What the library may link against: the C/C++ runtime and the C libraries it wraps.
ALLOWED_NEEDED = re.compile(r"^(libc|libm|libstdc\+\+|libgcc_s|ld-linux[-\w]*|libzmq|libsodium|libsqlite3|"
                            r"libcurl|libcrypto|libz|libpthread|libdl)\.so")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, iecutil):
    return SDKBundle(tmp_path_factory.mktemp("bundle") / "iec-sdk", find_library(), iecutil.path)


def header_functions() -> dict[str, str]:
    """name -> the declaration, from include/libiecclient.h."""
    text = (REPO / "include" / "libiecclient.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return {m.group(2): " ".join(m.group(0).split())
            for m in re.finditer(r"extern\s+([\w\s\*]+?)\b(iec_\w+)\s*\(([^)]*)\)\s*;", text)}


def exported_functions(library) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True, check=True)
    return {line.split()[-1] for line in out.stdout.splitlines()
            if len(line.split()) == 3 and line.split()[1] == "T" and line.split()[-1].startswith("iec_")}


def test_the_header_declares_the_original_functions_and_the_library_exports_exactly_them():
    declared = header_functions()
    assert set(declared) == ORIGINAL_FUNCTIONS, f"header: {sorted(set(declared) ^ ORIGINAL_FUNCTIONS)}"
    exported = exported_functions(find_library())
    assert exported == ORIGINAL_FUNCTIONS, (
        f"libiecclient.so exports {sorted(exported)}; missing {sorted(ORIGINAL_FUNCTIONS - exported)}, "
        f"extra {sorted(exported - ORIGINAL_FUNCTIONS)}")


def test_the_signatures_are_the_originals(bundle):
    """Each function assigned to a pointer of the original's exact type: gcc -Werror fails on any
    difference; the enum's values and order are checked at compile time."""
    asserts = "\n".join(f"_Static_assert({name} == {value}, \"{name} is {value}\");" for value, name in enumerate(ATTRIBUTES))
    source = f"""
#include <stdlib.h>
#include <libiecclient.h>
{asserts}
_Static_assert(sizeof(iec_sdk_attribute) == sizeof(int), "the enum is an int");
int (*set_attribute)(iec_sdk_attribute, char*) = iec_set_attribute;
int (*initialise)(void) = iec_initialise;
char* (*last_error)(void) = iec_last_error;
int (*device_register)(char*, char*) = iec_device_register;
int (*device_configuration)(char*, char**) = iec_device_configuration;
int (*device_tokens)(char*, char**) = iec_device_tokens;
int (*user_code)(char*, char**) = iec_user_code;
int (*user_tokens)(char*, char**) = iec_user_tokens;
int (*device_custom_command)(char*, char*, char*, char**) = iec_device_custom_command;
int (*json_parse)(char*) = iec_json_parse;
int (*json_get_string)(char*, char**) = iec_json_get_string;
int (*json_get_int)(char*, int*) = iec_json_get_int;
int (*json_get_bool)(char*, _Bool*) = iec_json_get_bool;
int (*token_introspect)(char*, char**) = iec_token_introspect;
enum iec_sdk_attribute tagged = IEC_LOGGING_COMPRESSBACKUPS;
int main(void) {{ char *e = last_error(); free(e); return e != NULL || tagged != 12; }}
"""
    program = bundle.compile_c(source, "signatures", extra=("-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"))
    r = subprocess.run([str(program)], env={"LD_LIBRARY_PATH": str(bundle.lib)}, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"iec_last_error() before any call should be NULL; exit {r.returncode} {r.stderr}"


def test_the_header_works_from_cpp(bundle):
    if not __import__("shutil").which("g++"):
        pytest.skip("g++ is not installed")
    source = """
#include <cstdlib>
#include <libiecclient.h>
int main() {
    char *error = nullptr;
    if (iec_set_attribute(IEC_MSGTIMEOUTSEC, const_cast<char*>("zero")) == 0) return 1;
    error = iec_last_error();
    bool ok = error != nullptr;
    std::free(error);
    return ok ? 0 : 2;
}
"""
    program = bundle.compile_c(source, "cplusplus", extra=("-Wall", "-Wextra", "-Werror"), compiler="g++")
    r = subprocess.run([str(program)], env={"LD_LIBRARY_PATH": str(bundle.lib)}, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"C++ caller: exit {r.returncode} {r.stderr}"


def test_the_library_is_self_contained():
    library = find_library()
    dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    assert needed, dynamic
    assert not [n for n in needed if "swift" in n.lower() or "Foundation" in n or "dispatch" in n.lower()], \
        f"libiecclient.so must not need the Swift runtime: {needed}"
    assert all(ALLOWED_NEEDED.match(n) for n in needed), f"unexpected dependencies: {needed}"
    ldd = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in ldd, ldd
    # The statically linked Swift runtime and the Swift modules stay inside: the only global
    # dynamic symbols are the C API's (Sources/IECClientC/libiecclient.map).
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True,
                             check=True).stdout
    exported = {line.split()[-1] for line in symbols.splitlines()
                if len(line.split()) == 3 and line.split()[1] in "TDBRVW"}
    assert exported == ORIGINAL_FUNCTIONS, f"global symbols besides the C API: {sorted(exported - ORIGINAL_FUNCTIONS)[:20]}"


def test_every_example_builds_warning_free_with_build_examples_sh(bundle):
    env = {"PATH": "/usr/bin:/bin", "CFLAGS": "-Wall -Wextra -Werror -std=c99"}
    r = subprocess.run([str(bundle.root / "examples" / "build-examples.sh")], cwd=bundle.root, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"build-examples.sh exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    for example in ("simpleclient", "init_sdk_static", "init_sdk_dynamic", "register_device",
                    "get_device_configuration", "get_device_tokens", "get_user_tokens",
                    "run_device_custom_command", "introspect_access_token"):
        assert f"built examples/{example}/{example}" in r.stdout, r.stdout
        assert (bundle.root / "examples" / example / example).is_file()


def test_the_seed_command_line_builds_simpleclient(bundle, tmp_path):
    """The seed's exact command, in a folder with simpleclient.c, include/ and lib/."""
    (tmp_path / "include").symlink_to(bundle.root / "include")
    (tmp_path / "lib").symlink_to(bundle.lib)
    (tmp_path / "simpleclient.c").write_text((REPO / "examples" / "simpleclient" / "simpleclient.c").read_text())
    r = subprocess.run([gcc(), "simpleclient.c", "-I", "include", "-L", "lib", "-liecclient"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert (tmp_path / "a.out").is_file()


def test_the_hand_written_header_agrees_with_the_one_swift_generates():
    """SwiftPM writes IECClientC-Swift.h from the @_cdecl functions: same names, same parameter
    count and kinds (int32_t = int, BOOL = _Bool, the enum travels as an int32_t)."""
    generated = find_library().resolve().parent / "IECClientC.build" / "include" / "IECClientC-Swift.h"
    if not generated.is_file():
        pytest.skip(f"no generated header at {generated}")
    swift = {m.group(2): m.group(3) for m in re.finditer(
        r"SWIFT_EXTERN\s+(.+?)\s*\b(iec_\w+)\((.*?)\)\s*SWIFT_NOEXCEPT", generated.read_text())}
    assert set(swift) == ORIGINAL_FUNCTIONS, sorted(set(swift) ^ ORIGINAL_FUNCTIONS)

    def kinds(params: str) -> list[str]:
        if params.strip() in ("", "void"):
            return []
        out = []
        for p in params.split(","):
            p = re.sub(r"_Nullable|_Nonnull|\b\w+$", "", p.strip()).replace(" ", "")
            p = {"int32_t": "int", "BOOL*": "_Bool*", "int32_t*": "int*", "iec_sdk_attribute": "int"}.get(p, p)
            out.append(p)
        return out

    for name, declaration in header_functions().items():
        params = declaration[declaration.index("(") + 1:declaration.rindex(")")]
        assert kinds(params) == kinds(swift[name]), f"{name}: header ({params}) vs Swift ({swift[name]})"
