import { appSubjects, chargingSubjects, clusterSubjects, pushSubjects, sessionSubjects, vehicleSubjects } from './contracts';

/**
 * The core NATS subjects by name, from the contracts (contracts/<domain>.ts, where each message's
 * schema lives beside its subject); permissions.ts grants them by these names.
 */
export const SUBJECTS = {
  appAnnounce: appSubjects.announce,
  appWithdraw: appSubjects.withdraw,
  appLoad: appSubjects.load,
  appLoadAll: appSubjects.loadAll,
  appDiscover: appSubjects.discover,
  sessionRevoked: sessionSubjects.revoked,
  pushMember: pushSubjects.member,
  pushMemberAll: pushSubjects.memberAll,
  heartbeatOnline: pushSubjects.online,
  autoscaleDecision: clusterSubjects.autoscaleDecision,
  gatewayStatus: clusterSubjects.gatewayStatus,
  vehicleCommand: vehicleSubjects.command,
  vehicleCommandAll: vehicleSubjects.commandAll,
  vehicleAck: vehicleSubjects.ack,
  vehicleAckAll: vehicleSubjects.ackAll,
  vehicleStatus: vehicleSubjects.status,
  vehicleStatusAll: vehicleSubjects.statusAll,
  vehicleAlert: vehicleSubjects.alert,
  vehicleAlertAll: vehicleSubjects.alertAll,
  vehicleEvent: vehicleSubjects.event,
  vehicleEventAll: vehicleSubjects.eventAll,
  pileCall: chargingSubjects.pileCall,
  pileCallAll: chargingSubjects.pileCallAll,
  pileConnected: chargingSubjects.pileConnected,
  pileConnectedAll: chargingSubjects.pileConnectedAll,
  chargingReply: chargingSubjects.reply,
  chargingReplyAll: chargingSubjects.replyAll,
} as const;
