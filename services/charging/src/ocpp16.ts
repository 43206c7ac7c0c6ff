/**
 * The OCPP 1.6J calls a pile makes to the central system, typed after the protocol's JSON schemas
 * (ocpp-rpc's strict mode validates every frame against them before a handler runs, so the
 * handlers may rely on these shapes; ranges and ids are still checked, the schemas bound neither).
 */

export type IdTagStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

export interface SampledValue {
  value: string;
  context?: string;
  format?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unit?: string;
}

export interface MeterValue {
  timestamp: string;
  sampledValue: SampledValue[];
}

export type ChargePointStatus = 'Available' | 'Preparing' | 'Charging' | 'SuspendedEVSE' | 'SuspendedEV' | 'Finishing' | 'Reserved' | 'Unavailable' | 'Faulted';

export type StopReason =
  'EmergencyStop' | 'EVDisconnected' | 'HardReset' | 'Local' | 'Other' | 'PowerLoss' | 'Reboot' | 'Remote' | 'SoftReset' | 'UnlockCommand' | 'DeAuthorized';

/** Request and answer of each action the central system handles. */
export interface Ocpp16Calls {
  BootNotification: {
    request: {
      chargePointVendor: string;
      chargePointModel: string;
      chargePointSerialNumber?: string;
      chargeBoxSerialNumber?: string;
      firmwareVersion?: string;
      iccid?: string;
      imsi?: string;
      meterType?: string;
      meterSerialNumber?: string;
    };
    response: { status: 'Accepted' | 'Pending' | 'Rejected'; currentTime: string; interval: number };
  };
  Heartbeat: { request: Record<string, never>; response: { currentTime: string } };
  StatusNotification: {
    request: {
      connectorId: number;
      errorCode: string;
      info?: string;
      status: ChargePointStatus;
      timestamp?: string;
      vendorId?: string;
      vendorErrorCode?: string;
    };
    response: Record<string, never>;
  };
  Authorize: { request: { idTag: string }; response: { idTagInfo: { status: IdTagStatus } } };
  StartTransaction: {
    request: { connectorId: number; idTag: string; meterStart: number; reservationId?: number; timestamp: string };
    response: { transactionId: number; idTagInfo: { status: IdTagStatus } };
  };
  StopTransaction: {
    request: { idTag?: string; meterStop: number; timestamp: string; transactionId: number; reason?: StopReason; transactionData?: MeterValue[] };
    response: { idTagInfo?: { status: IdTagStatus } };
  };
  MeterValues: { request: { connectorId: number; transactionId?: number; meterValue: MeterValue[] }; response: Record<string, never> };
  DataTransfer: {
    request: { vendorId: string; messageId?: string; data?: string };
    response: { status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId'; data?: string };
  };
  FirmwareStatusNotification: { request: { status: string }; response: Record<string, never> };
  DiagnosticsStatusNotification: { request: { status: string }; response: Record<string, never> };
}

export type Ocpp16Action = keyof Ocpp16Calls;
