"""bf16 on a CPU that only emulates it is said before training, not found out from the wall clock."""

import petra.device as device


def test_bf16_on_an_emulating_cpu_is_said(monkeypatch):
    monkeypatch.setattr(device, "cpu_bf16_is_slow", lambda: True)
    monkeypatch.setattr(device, "uses_cuda", lambda spec: False)
    assert "~8x slower" in device.precision_warning("auto", ["fp32", "bf16"])
    assert device.precision_warning("auto", ["fp32", "fp32"]) is None
    monkeypatch.setattr(device, "cpu_bf16_is_slow", lambda: False)
    assert device.precision_warning("cpu", ["bf16", "bf16"]) is None

