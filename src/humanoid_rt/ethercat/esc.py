"""An emulated EtherCAT slave controller (ESC): register/process RAM, SII EEPROM,
AL state machine, sync managers, FMMUs and the CoE mailbox, in front of a
virtual CiA 402 drive (drive.py).

Register addresses and meanings follow ETG.1000.4 / ETG.1000.6 (the ESC
register map every master relies on); only what a master needs to bring a
slave to OP and exchange process data is modelled. What is not modelled:
distributed clocks (feature bit 0x0008.2 is clear, so masters skip DC), the
sync-manager watchdog, EEPROM writes, EoE/FoE/SoE, complete access.
"""

from __future__ import annotations

import struct

from .drive import Cia402Drive, DriveParams, SdoAbort, pdo_bytes, ABORT_UNSUPPORTED

# AL states
INIT, PREOP, BOOT, SAFEOP, OP = 1, 2, 3, 4, 8
AL_NAMES = {INIT: "INIT", PREOP: "PRE-OP", BOOT: "BOOT", SAFEOP: "SAFE-OP", OP: "OP"}

# AL status codes (ETG.1000.6)
AL_INVALID_STATE_CHANGE = 0x0011
AL_UNKNOWN_STATE = 0x0012
AL_INVALID_MAILBOX_CONFIG = 0x0016
AL_INVALID_OUTPUT_CONFIG = 0x001D
AL_INVALID_INPUT_CONFIG = 0x001E

# Process-RAM layout of the emulated drive (also in the SII SM category).
MBX_OUT_ADDR, MBX_OUT_LEN = 0x1000, 128   # SM0: master -> slave mailbox
MBX_IN_ADDR, MBX_IN_LEN = 0x1080, 128     # SM1: slave -> master mailbox
PD_OUT_ADDR, PD_IN_ADDR = 0x1100, 0x1180  # SM2 outputs, SM3 inputs

MBX_TYPE_ERR, MBX_TYPE_COE = 0x00, 0x03
COE_SDO_REQUEST, COE_SDO_RESPONSE = 2, 3


def build_sii(params: DriveParams, name: str = "hrt-cia402") -> bytes:
    """SII EEPROM image (ETG.1000.6 / ETG.2010 layout): fixed words 0x00-0x3F, then categories."""
    words = [0] * 0x40
    words[0x00] = 0x0C08        # PDI control: a value a real ESC config area could hold
    words[0x04] = 0x0000
    words[0x08:0x0A] = [params.vendor_id & 0xFFFF, params.vendor_id >> 16]
    words[0x0A:0x0C] = [params.product_code & 0xFFFF, params.product_code >> 16]
    words[0x0C:0x0E] = [1, 0]  # revision
    words[0x0E:0x10] = [0, 0]  # serial
    words[0x18:0x1C] = [MBX_OUT_ADDR, MBX_OUT_LEN, MBX_IN_ADDR, MBX_IN_LEN]  # standard mailbox
    words[0x1C] = 0x0004        # mailbox protocols: CoE
    words[0x3E] = 0x0001        # EEPROM size (KiB - 1)
    words[0x3F] = 0x0001        # version
    image = bytearray(struct.pack("<64H", *words))

    def category(kind: int, data: bytes) -> None:
        if len(data) % 2:
            data += b"\x00"
        image.extend(struct.pack("<HH", kind, len(data) // 2))
        image.extend(data)

    strings = [name.encode()]
    category(10, bytes([len(strings)]) + b"".join(bytes([len(s)]) + s for s in strings))
    general = bytearray(32)
    general[3] = 1              # name: string 1
    general[5] = 0x01 | 0x04 | 0x08  # CoE: SDO, PDO assign, PDO config (no complete access, no SDO info)
    general[9] = 1              # one CiA 402 axis
    category(30, bytes(general))
    category(40, bytes([1, 2, 3, 0xFF]))  # FMMU0 outputs, FMMU1 inputs, FMMU2 mailbox status
    sms = b"".join([
        struct.pack("<HHBBBB", MBX_OUT_ADDR, MBX_OUT_LEN, 0x26, 0, 1, 1),
        struct.pack("<HHBBBB", MBX_IN_ADDR, MBX_IN_LEN, 0x22, 0, 1, 2),
        struct.pack("<HHBBBB", PD_OUT_ADDR, 0, 0x64, 0, 1, 3),
        struct.pack("<HHBBBB", PD_IN_ADDR, 0, 0x20, 0, 1, 4),
    ])
    category(41, sms)
    image.extend(b"\xff\xff\x00\x00")
    image.extend(b"\xff" * (-len(image) % 8 + 8))
    return bytes(image)


class EmulatedSlave:
    """One ESC with its drive. `position` is the slave's place on the ring (0-based)."""

    def __init__(self, position: int, params: DriveParams, period_s: float, last: bool):
        self.position = position
        self.params = params
        self.mem = bytearray(0x2000)
        self.sii = build_sii(params)
        self.drive = Cia402Drive(params, period_s)
        self.al_state = INIT
        self.al_error = False
        self.al_code = 0
        self.fmmus: list[tuple[int, int, int, int]] = []  # (logical start, length, physical start, type)
        self.skip_pd = 0         # fault injection: ignore this many process-data datagrams (WKC short)
        m = self.mem
        m[0x0000] = 0x11         # type
        m[0x0001] = 0x01         # revision
        m[0x0004] = 8            # FMMUs
        m[0x0005] = 8            # SMs
        m[0x0006] = 8            # RAM [KiB]
        m[0x0007] = 0x0F         # port descriptor
        struct.pack_into("<H", m, 0x0008, 0x0000)  # features: no DC (bit 2 clear)
        # DL status: port 0 open + communication; port 1 open + communication unless last on the line.
        struct.pack_into("<H", m, 0x0110, (0x0230 | (0x0400 if last else 0x0800)) | 0x5000)
        struct.pack_into("<H", m, 0x0140, 0x0008)  # PDI control
        struct.pack_into("<H", m, 0x0502, 0x0040)  # EEPROM status: 8-byte reads
        self._set_al()

    # -------------------------------------------------------------------- registers
    def _set_al(self) -> None:
        struct.pack_into("<H", self.mem, 0x0130, self.al_state | (0x10 if self.al_error else 0))
        struct.pack_into("<H", self.mem, 0x0134, self.al_code)

    def read(self, ado: int, length: int) -> bytes:
        end = ado + length
        data = bytes(self.mem[ado:end]) if end <= len(self.mem) else bytes(length)
        sm1 = self._sm(1)
        if sm1 and sm1[0] <= end - 1 < sm1[0] + sm1[1] and end - 1 == sm1[0] + sm1[1] - 1:
            self.mem[0x080D] &= ~0x08 & 0xFF  # last byte of the read mailbox read: mailbox empty
        return data

    def write(self, ado: int, data: bytes) -> None:
        end = ado + len(data)
        if end > len(self.mem):
            return
        keep = [(a, self.mem[a]) for a in (0x0805, 0x080D, 0x0815, 0x081D) if ado <= a < end]
        protected_al = ado < 0x0136 and end > 0x0130
        self.mem[ado:end] = data
        for a, v in keep:  # sync-manager status bytes are read-only for the master
            self.mem[a] = v
        if protected_al:
            self._set_al()
        if ado <= 0x0120 < end:
            self._al_control(struct.unpack_from("<H", self.mem, 0x0120)[0])
        if ado <= 0x0502 < end:
            self._eeprom_command()
        if ado < 0x0700 and end > 0x0600:
            self._load_fmmus()
        sm0 = self._sm(0)
        if sm0 and ado <= sm0[0] + sm0[1] - 1 < end:
            self._mailbox(bytes(self.mem[sm0[0]:sm0[0] + sm0[1]]))

    def _sm(self, n: int):
        start, length, _ctrl, _status, activate = struct.unpack_from("<HHBBB", self.mem, 0x0800 + 8 * n)
        return (start, length) if activate & 1 and length else None

    def _load_fmmus(self) -> None:
        self.fmmus = []
        for n in range(16):
            log, length, _sb, _eb, phys, _pb, kind, active = struct.unpack_from("<IHBBHBBB", self.mem, 0x0600 + 16 * n)
            if active & 1 and length and kind in (1, 2, 3):
                self.fmmus.append((log, length, phys, kind))

    # -------------------------------------------------------------------- SII EEPROM
    def _eeprom_command(self) -> None:
        command, address = struct.unpack_from("<HI", self.mem, 0x0502)
        if command & 0x0700 == 0x0100:  # read: 8 bytes from word `address`
            start = (address & 0xFFFF) * 2
            chunk = self.sii[start:start + 8]
            self.mem[0x0508:0x0510] = chunk + b"\xff" * (8 - len(chunk))
        struct.pack_into("<H", self.mem, 0x0502, 0x0040)  # done: not busy, no error, 8-byte reads

    # -------------------------------------------------------------------- AL state machine
    def _al_control(self, control: int) -> None:
        requested = control & 0x0F
        if control & 0x10:
            self.al_error = False
            self.al_code = 0
        if requested not in AL_NAMES:
            self._al_fail(AL_UNKNOWN_STATE)
            return
        current = self.al_state
        if requested == current:
            self._set_al()
            return
        if requested == INIT or (requested < current and requested != BOOT):
            self.al_state = requested  # going down is always allowed
        elif self.al_error:
            pass  # an error must be acknowledged before going up
        elif (current, requested) in ((INIT, PREOP), (PREOP, SAFEOP), (SAFEOP, OP)):
            if requested == PREOP and (self._sm(0) != (MBX_OUT_ADDR, MBX_OUT_LEN) or self._sm(1) != (MBX_IN_ADDR, MBX_IN_LEN)):
                return self._al_fail(AL_INVALID_MAILBOX_CONFIG)
            if requested == SAFEOP:
                out_len = pdo_bytes(self.drive.rx_entries())
                in_len = pdo_bytes(self.drive.tx_entries())
                sm2, sm3 = self._sm(2), self._sm(3)
                if (sm2[1] if sm2 else 0) != out_len or (sm2 and sm2[0] != PD_OUT_ADDR):
                    return self._al_fail(AL_INVALID_OUTPUT_CONFIG)
                if (sm3[1] if sm3 else 0) != in_len or (sm3 and sm3[0] != PD_IN_ADDR):
                    return self._al_fail(AL_INVALID_INPUT_CONFIG)
            self.al_state = requested
        else:
            return self._al_fail(AL_INVALID_STATE_CHANGE)
        self._set_al()

    def _al_fail(self, code: int) -> None:
        self.al_error = True
        self.al_code = code
        self._set_al()

    # -------------------------------------------------------------------- CoE mailbox
    def _mailbox(self, box: bytes) -> None:
        length, address, _prio, kind = struct.unpack_from("<HHBB", box, 0)
        counter = (kind >> 4) & 0x07
        if kind & 0x0F != MBX_TYPE_COE or length < 10:
            self._reply(struct.pack("<HHBB", 4, 0, 0, MBX_TYPE_ERR | (counter << 4)) + struct.pack("<HH", 1, 0x02))
            return
        coe, command, index, sub = struct.unpack_from("<HBHB", box, 6)
        header = lambda n, service: (struct.pack("<HHBB", n, 0, 0, MBX_TYPE_COE | (counter << 4))
                                     + struct.pack("<H", service << 12))
        try:
            if coe >> 12 != COE_SDO_REQUEST or command & 0x10:
                raise SdoAbort(ABORT_UNSUPPORTED)
            ccs = command >> 5
            if ccs == 2:  # upload
                value = self.drive.sdo_read(index, sub)
                if len(value) <= 4:
                    body = struct.pack("<BHB", 0x43 | ((4 - len(value)) << 2), index, sub) + value.ljust(4, b"\0")
                else:
                    body = struct.pack("<BHBI", 0x41, index, sub, len(value)) + value
                self._reply(header(2 + len(body), COE_SDO_RESPONSE) + body)
            elif ccs == 1:  # download
                if command & 0x02:  # expedited
                    size = 4 - ((command >> 2) & 0x03) if command & 0x01 else 4
                    data = box[12:12 + size]
                else:
                    (size,) = struct.unpack_from("<I", box, 12)
                    data = box[16:16 + size]
                self.drive.sdo_write(index, sub, data, self.al_state)
                body = struct.pack("<BHBI", 0x60, index, sub, 0)
                self._reply(header(2 + len(body), COE_SDO_RESPONSE) + body)
            else:
                raise SdoAbort(ABORT_UNSUPPORTED)
        except SdoAbort as abort:
            body = struct.pack("<BHBI", 0x80, index, sub, abort.code)
            self._reply(header(2 + len(body), COE_SDO_REQUEST) + body)

    def _reply(self, message: bytes) -> None:
        sm1 = self._sm(1)
        if not sm1:
            return
        start, length = sm1
        self.mem[start:start + length] = message[:length].ljust(length, b"\0")
        self.mem[0x080D] |= 0x08  # read mailbox full

    # -------------------------------------------------------------------- process data
    def process_data(self) -> None:
        """After a process-data datagram: hand the outputs to the drive and refresh the inputs."""
        if self.al_state < SAFEOP:
            return
        sm2, sm3 = self._sm(2), self._sm(3)
        outputs = bytes(self.mem[sm2[0]:sm2[0] + sm2[1]]) if sm2 else None
        inputs = self.drive.exchange(outputs, self.al_state == OP)
        if sm3:
            self.mem[sm3[0]:sm3[0] + len(inputs)] = inputs
