"""The manifest that generates tests/sync/fakecore_sync from tests/sync/fakecore."""

from sandbox_core_sync._codegen import Manifest

MANIFEST = Manifest(
    package="fakecore",
    output_package="fakecore_sync",
    wrap=("Sandbox", "ContainerProcess", "StreamReader", "StreamWriter", "FileIO", "Group", "GroupRun", "sweep"),
    reexport=("Info", "StreamType", "exception"),
    thread_safe={"StreamWriter": ("write",)},
    constructors=("Group",),
    private_members={"Group": ("_experimental_self",)},
    submodules=("sandbox", "streams"),
    command="python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST",
)
