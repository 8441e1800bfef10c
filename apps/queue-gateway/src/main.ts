import './instrument'; // must stay first
import { runService } from '@ticketing/service-runtime';
import { gatewayService } from './gateway.service';

runService(gatewayService());
