"""Controller side of pbdeployer.pocketbase.release: send the zip only when the host lacks it.

For ``state: prepare`` with ``zip_src`` the module runs once to look; only when it answers
``need_zip`` is the zip sent (one scp/sftp transfer over the open connection) and the module
run again to unpack it. Logged in as root or as the app user, the zip goes straight to
``<path>/.incoming/<sha256>.zip``, where a cut-short upload is found and removed by
``state: recover``; logged in as anyone else, it goes through Ansible's temp dir as ``copy``
does. Every other state runs the module unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        super().run(tmp, task_vars)
        args = dict(self._task.args)
        zip_src = args.pop("zip_src", "") or ""
        result: dict[str, Any] = self._execute_module(module_args=args, task_vars=task_vars)
        if args.get("state") != "prepare" or result.get("failed") or not result.get("need_zip"):
            return result
        if not zip_src:
            result.update(failed=True, msg=f"{result.get('msg')}; set zip_src to send it")
            return result
        if not os.path.isfile(zip_src):
            raise AnsibleActionFail(f"zip_src {zip_src} is not a file on the controller")
        try:
            remote = self._send(zip_src, args)
            result = self._execute_module(module_args={**args, "zip_path": remote},
                                          task_vars=task_vars)  # fmt: skip
        finally:
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _send(self, zip_src: str, args: dict[str, Any]) -> str:
        """Transfer the zip; returns where it landed on the host."""
        if self._get_remote_user() in ("root", args.get("user")):
            remote = f"{args['path']}/.incoming/{args['sha256']}.zip"
            self._transfer_file(zip_src, remote)
            return remote
        tmpdir = self._make_tmp_path()
        remote = self._connection._shell.join_path(tmpdir, "release.zip")
        self._transfer_file(zip_src, remote)
        self._fixup_perms2((tmpdir, remote))
        return remote
