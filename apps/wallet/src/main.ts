import './instrument'; // must stay first
import { runService } from '@ticketing/service-runtime';
import { walletService } from './wallet.service';

runService(walletService());
